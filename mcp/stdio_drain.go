package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
)

// answerTracker remembers the requests read on stdio that still wait for
// their answer, so that the end of input can wait for them: mcp-go cancels
// whatever is still running when its input ends, and a script that pipes
// requests into `loom mcp` would lose the last answers.
type answerTracker struct {
	mu      sync.Mutex
	pending map[string]bool
	idle    chan struct{} // closed while nothing is pending
}

func newAnswerTracker() *answerTracker {
	idle := make(chan struct{})
	close(idle)
	return &answerTracker{pending: map[string]bool{}, idle: idle}
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

// read notes a request (a message with a method and an id) from one line.
// A cancelled request gets no answer, so its cancellation settles it.
func (t *answerTracker) read(line []byte) {
	var m message
	if json.Unmarshal(line, &m) != nil || m.Method == "" {
		return
	}
	if m.Method == "notifications/cancelled" {
		if id, ok := canonicalID(m.Params.RequestID); ok {
			t.settle(id)
		}
		return
	}
	id, ok := canonicalID(m.ID)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		t.idle = make(chan struct{})
	}
	t.pending[id] = true
}

// settle forgets a pending request.
func (t *answerTracker) settle(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending[id] {
		delete(t.pending, id)
		if len(t.pending) == 0 {
			close(t.idle)
		}
	}
}

// wrote notes an answer (a message with an id and a result or an error).
func (t *answerTracker) wrote(p []byte) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		var m message
		if json.Unmarshal(line, &m) != nil || m.Method != "" || (m.Result == nil && m.Error == nil) {
			continue
		}
		if id, ok := canonicalID(m.ID); ok {
			t.settle(id)
		}
	}
}

// wait blocks until every request read has been answered, or ctx ends.
func (t *answerTracker) wait(ctx context.Context) {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// drainingReader shows each input line to the tracker and holds back the
// end of input until the requests read so far are answered. Data read
// together with the end is returned first, so the server has taken every
// request before the wait begins.
type drainingReader struct {
	ctx     context.Context
	r       io.Reader
	t       *answerTracker
	partial []byte
	eof     bool
}

func (d *drainingReader) Read(p []byte) (int, error) {
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

// answerWriter shows each write to the tracker after it was made.
type answerWriter struct {
	w io.Writer
	t *answerTracker
}

func (a answerWriter) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	if err == nil {
		a.t.wrote(p)
	}
	return n, err
}
