// Package rpcdrain holds back the end of a line-delimited JSON-RPC input
// (MCP and ACP over stdio) until the server has answered every request it
// read. The protocol libraries cancel whatever is still running when their
// input ends, so a script that pipes requests into `loom mcp` or `loom acp`
// and closes its end would otherwise lose the last answers.
//
// The wait ends early when it could never end by itself: when the server
// asks the client something (a permission, a file, the roots) that input
// which has ended cannot answer.
package rpcdrain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
)

// Tracker follows the requests read and the answers written on one
// connection. Reader and Writer wrap the connection's two streams.
type Tracker struct {
	cancelMethod string // the notification that withdraws a request, params.requestId

	mu       sync.Mutex
	pending  map[string]bool // requests read, not answered yet
	asked    map[string]bool // requests written, not answered yet
	ended    bool            // input has ended
	idle     chan struct{}   // closed while nothing is pending
	hopeless chan struct{}   // closed once input has ended with a question to the client open
}

// New returns a tracker for a protocol whose cancellation notification is
// cancelMethod ("notifications/cancelled" in MCP, "$/cancel_request" in
// ACP).
func New(cancelMethod string) *Tracker {
	idle := make(chan struct{})
	close(idle)
	return &Tracker{
		cancelMethod: cancelMethod,
		pending:      map[string]bool{},
		asked:        map[string]bool{},
		idle:         idle,
		hopeless:     make(chan struct{}),
	}
}

// message is what the tracker reads of a JSON-RPC message.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}

func (m *message) isAnswer() bool { return m.Method == "" && (m.Result != nil || m.Error != nil) }

// canonicalID re-encodes an id so that 1 and 1.0 or spacing differences
// between what was read and what is written compare equal.
func canonicalID(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	b, err := json.Marshal(v)
	return string(b), err == nil
}

// read notes one input line: a request to answer, a withdrawn request, or
// the client's answer to a question the server asked.
func (t *Tracker) read(line []byte) {
	var m message
	if json.Unmarshal(line, &m) != nil {
		return
	}
	switch {
	case m.isAnswer():
		if id, ok := canonicalID(m.ID); ok {
			t.mu.Lock()
			delete(t.asked, id)
			t.mu.Unlock()
		}
	case m.Method == t.cancelMethod:
		if id, ok := canonicalID(m.Params.RequestID); ok {
			t.settle(id)
		}
	case m.Method != "":
		id, ok := canonicalID(m.ID)
		if !ok {
			return // a notification: nothing to answer
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if len(t.pending) == 0 {
			t.idle = make(chan struct{})
		}
		t.pending[id] = true
	}
}

// settle forgets a pending request.
func (t *Tracker) settle(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending[id] {
		delete(t.pending, id)
		if len(t.pending) == 0 {
			close(t.idle)
		}
	}
}

// wrote notes what the server wrote: answers settle requests; questions
// to the client are remembered, and after the end of input they end the
// wait, since nothing will answer them.
func (t *Tracker) wrote(p []byte) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		var m message
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		id, ok := canonicalID(m.ID)
		switch {
		case !ok:
		case m.isAnswer():
			t.settle(id)
		case m.Method != "":
			t.mu.Lock()
			t.asked[id] = true
			t.giveUpIfHopeless()
			t.mu.Unlock()
		}
	}
}

// giveUpIfHopeless ends the wait if input has ended while the server waits
// for the client. t.mu is held.
func (t *Tracker) giveUpIfHopeless() {
	if t.ended && len(t.asked) > 0 {
		select {
		case <-t.hopeless:
		default:
			close(t.hopeless)
		}
	}
}

// wait blocks until every request read has been answered, the server is
// left waiting for an answer that cannot come, or ctx ends.
func (t *Tracker) wait(ctx context.Context) {
	t.mu.Lock()
	t.ended = true
	t.giveUpIfHopeless()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
	case <-t.hopeless:
	case <-ctx.Done():
	}
}

// Reader shows each input line to the tracker and holds back the end of r
// until the requests read so far are answered (or ctx ends). Data read
// together with the end is returned first, so the server has taken every
// request before the wait begins.
func (t *Tracker) Reader(ctx context.Context, r io.Reader) io.Reader {
	return &reader{ctx: ctx, r: r, t: t}
}

type reader struct {
	ctx     context.Context
	r       io.Reader
	t       *Tracker
	partial []byte
	eof     bool
}

func (d *reader) Read(p []byte) (int, error) {
	if d.eof {
		d.t.wait(d.ctx)
		return 0, io.EOF
	}
	n, err := d.r.Read(p)
	d.partial = append(d.partial, p[:n]...)
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break
		}
		d.t.read(d.partial[:i])
		d.partial = d.partial[i+1:]
	}
	if err == io.EOF {
		if len(d.partial) > 0 { // a last line without a newline
			d.t.read(d.partial)
			d.partial = nil
		}
		d.eof = true
		if n > 0 {
			return n, nil
		}
		d.t.wait(d.ctx)
	}
	return n, err
}

// Writer shows each write to the tracker after it was made.
func (t *Tracker) Writer(w io.Writer) io.Writer { return writer{w: w, t: t} }

type writer struct {
	w io.Writer
	t *Tracker
}

func (a writer) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	if err == nil {
		a.t.wrote(p)
	}
	return n, err
}
