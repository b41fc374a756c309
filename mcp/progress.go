package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/session"
)

// progress turns a run's steps (a tool call finished, a model turn
// finished) into notifications/progress for the request's progress token.
// Without a token it sends nothing.
type progress struct {
	ctx     context.Context
	srv     *server.MCPServer
	written *writtenProgress
	token   mcpgo.ProgressToken
	n       int
	log     func(msg string, args ...any)
}

func (s *Server) newProgress(ctx context.Context, req mcpgo.CallToolRequest) *progress {
	p := &progress{ctx: ctx, srv: s.mcp, written: s.written, log: s.log.Debug}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

// event is the agent's onEvent callback; the agent never calls it
// concurrently.
func (p *progress) event(ev session.Event) {
	var msg string
	switch e := ev.(type) {
	case session.ToolFinished:
		msg = stepMessage(e)
	case session.TurnFinished:
		msg = fmt.Sprintf("model turn %d finished (%d tokens so far)", e.Turn, e.Total.PromptTokens+e.Total.CompletionTokens)
	default:
		return
	}
	p.n++
	if p.token == nil {
		return
	}
	err := p.srv.SendNotificationToClient(p.ctx, string(mcpgo.MethodNotificationProgress), map[string]any{
		"progressToken": p.token,
		"progress":      p.n,
		"message":       msg,
	})
	if err != nil {
		p.log("mcp: progress notification not sent", "err", err)
	}
}

func stepMessage(e session.ToolFinished) string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%s failed: %v", e.Name, e.Err)
	case len(e.Changed) > 0:
		return fmt.Sprintf("%s staged edits to %s", e.Name, strings.Join(e.Changed, ", "))
	default:
		return e.Name + " done"
	}
}

// flush waits until the transport has written the run's last progress
// notification, at most a second. Transports write notifications from
// another goroutine than the response (and mcp-go's HTTP transport drops
// one still in flight when the response is written), so without this the
// last steps could follow the response or be lost, and a client ignores
// progress for a request that has ended.
func (p *progress) flush() {
	if p.token == nil || p.n == 0 {
		return
	}
	if !p.written.wait(p.token, float64(p.n), time.Second) {
		p.log("mcp: the last progress notification was not seen written", "progress", p.n)
	}
	// The TypeScript SDK dispatches notifications in a microtask but a
	// response at once, dropping the progress handler: progress that
	// arrives in the same read as the response is lost. A short gap puts
	// them in separate reads; a run takes far longer anyway.
	time.Sleep(progressGap)
}

// progressGap separates the last progress notification from the response.
const progressGap = 25 * time.Millisecond

// writtenProgress records the highest progress written to a client per
// progress token, from what the transports write (see observingWriter).
// Tokens are per request, so a clash between clients at worst ends a wait
// early.
type writtenProgress struct {
	mu      sync.Mutex
	seen    map[string]float64
	changed chan struct{} // closed and replaced on every record
}

func newWrittenProgress() *writtenProgress {
	return &writtenProgress{seen: map[string]float64{}, changed: make(chan struct{})}
}

var progressMethod = []byte(`"method":"` + string(mcpgo.MethodNotificationProgress) + `"`)

// observe records a progress notification in a written message: a JSON
// line (stdio) or an SSE event ("event: message\ndata: {...}\n\n").
func (w *writtenProgress) observe(msg []byte) {
	if !bytes.Contains(msg, progressMethod) {
		return
	}
	if i := bytes.Index(msg, []byte("data: ")); i >= 0 {
		msg = msg[i+len("data: "):]
	}
	if i := bytes.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	var n struct {
		Params struct {
			ProgressToken any     `json:"progressToken"`
			Progress      float64 `json:"progress"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &n) != nil || n.Params.ProgressToken == nil {
		return
	}
	key := tokenKey(n.Params.ProgressToken)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[key] = max(w.seen[key], n.Params.Progress)
	close(w.changed)
	w.changed = make(chan struct{})
}

// wait reports whether progress n for token was written within timeout,
// and forgets the token: its request is ending.
func (w *writtenProgress) wait(token any, n float64, timeout time.Duration) bool {
	key := tokenKey(token)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		done, changed := w.seen[key] >= n, w.changed
		if done {
			delete(w.seen, key)
		}
		w.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			w.mu.Lock()
			delete(w.seen, key)
			w.mu.Unlock()
			return false
		}
	}
}

// tokenKey names a token the same way whether it came from a request or
// from a written message (a string, or a number decoded as float64).
func tokenKey(token any) string {
	b, _ := json.Marshal(token)
	return string(b)
}

// observingWriter passes what a transport writes to its destination and
// shows it to the progress record.
type observingWriter struct {
	w       io.Writer
	written *writtenProgress
}

func (o observingWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err == nil {
		o.written.observe(p)
	}
	return n, err
}

// observingResponse is observingWriter for an HTTP response, keeping the
// Flusher that SSE needs and the original for http.ResponseController.
type observingResponse struct {
	http.ResponseWriter
	written *writtenProgress
}

func (o observingResponse) Write(p []byte) (int, error) {
	n, err := o.ResponseWriter.Write(p)
	if err == nil {
		o.written.observe(p)
	}
	return n, err
}

func (o observingResponse) Flush() {
	if f, ok := o.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (o observingResponse) Unwrap() http.ResponseWriter { return o.ResponseWriter }
