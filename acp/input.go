package acp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/internal/jsonrpcline"
)

// MaxMessageBytes is the longest message (one line, its newline left out)
// Loom's ACP agent takes. It is the SDK's own limit (v0.13.5 ends the
// connection on a longer line); a longer one is answered with an error and
// skipped, and the connection goes on.
const MaxMessageBytes = 10<<20 - 1

// The SDK (v0.13.5) queues the notifications it reads for one goroutine to
// handle in order, and ends the connection when more than 1,024 wait. The
// pacer holds back the input instead: after every paceWindow notifications
// it passes on a notification of its own, barrierMethod, which the SDK
// hands to HandleExtensionMethod once every notification before it is
// handled; no notification is passed on while 2*paceWindow wait ahead of
// the last barrier handled. The queue never holds more than about
// 2*paceWindow.
const (
	paceWindow    = 256
	barrierMethod = "_loom/notifications_handled"
)

type pacer struct {
	stop <-chan struct{} // closed when the connection ends: waiting ends too

	mu      sync.Mutex
	passed  uint64        // notifications passed on to the SDK
	handled uint64        // of those, handled, as the barriers report
	moved   chan struct{} // closed and replaced when handled moves
}

func newPacer(stop <-chan struct{}) *pacer {
	return &pacer{stop: stop, moved: make(chan struct{})}
}

// before is jsonrpcline's BeforeNotification: it waits while the SDK's
// queue is full enough, and puts a barrier before every paceWindow-th
// notification.
func (p *pacer) before(method string) []byte {
	if method == "$/cancel_request" {
		return nil // the SDK handles it as it reads it, without queueing it
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var barrier []byte
	if p.passed > 0 && p.passed%paceWindow == 0 {
		barrier = fmt.Appendf(nil, `{"jsonrpc":"2.0","method":%q,"params":{"handled":%d}}`+"\n", barrierMethod, p.passed)
	}
	for p.passed-p.handled >= 2*paceWindow {
		moved := p.moved
		p.mu.Unlock()
		select {
		case <-moved:
		case <-p.stop:
		}
		p.mu.Lock()
		select {
		case <-p.stop:
			p.passed++
			return barrier
		default:
		}
	}
	p.passed++
	return barrier
}

// reached records a barrier handled.
func (p *pacer) reached(params json.RawMessage) {
	var b struct {
		Handled uint64 `json:"handled"`
	}
	if json.Unmarshal(params, &b) != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b.Handled > p.handled && b.Handled <= p.passed {
		p.handled = b.Handled
		close(p.moved)
		p.moved = make(chan struct{})
	}
}

// HandleExtensionMethod receives the pacer's barriers; Loom offers no
// other extension method.
func (s *Server) HandleExtensionMethod(ctx context.Context, method string, params json.RawMessage) (any, error) {
	if method == barrierMethod && s.pace != nil {
		s.pace.reached(params)
		return nil, nil
	}
	return nil, sdk.NewMethodNotFound(method)
}

// guardInput wraps the client's input so that the SDK only ever reads
// messages it can take and is never sent more notifications than it
// queues; what is refused is answered on out.
func (s *Server) guardInput(in io.Reader, out io.Writer) io.Reader {
	return jsonrpcline.NewReader(in, out, jsonrpcline.Options{
		MaxLine:            MaxMessageBytes,
		BeforeNotification: s.pace.before,
		Logger:             s.log,
	})
}
