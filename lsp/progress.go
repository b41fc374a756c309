package lsp

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/session"
)

// progress reports one run as work-done progress: begin, a report per
// agent step, end. A run the client gave no token and cannot create one for
// reports nothing but is still registered, so shutdown and cancellation
// reach it.
type progress struct {
	s     *Server
	ctx   context.Context
	token protocol.ProgressToken // nil: no progress UI
	key   string
}

// startProgress registers a run (cancel ends it) and begins its progress:
// on the request's workDoneToken if it has one, else on a token created
// with window/workDoneProgress/create when the client supports that.
func (s *Server) startProgress(ctx context.Context, reqToken protocol.ProgressToken, title string, cancel context.CancelFunc) *progress {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	supported := s.caps.workDoneProgress
	s.mu.Unlock()
	p := &progress{s: s, ctx: ctx, token: reqToken}
	if p.token == nil && supported {
		tok := protocol.String(fmt.Sprintf("loom-run-%d", id))
		if err := s.client.WorkDoneProgressCreate(ctx, &protocol.WorkDoneProgressCreateParams{Token: tok}); err != nil {
			s.log.Debug("lsp: client refused a progress token", "err", err)
		} else {
			p.token = tok
		}
	}
	p.key = tokenKey(p.token)
	if p.key == "" {
		p.key = fmt.Sprintf("run:%d", id)
	}
	s.mu.Lock()
	s.runs[p.key] = cancel
	s.mu.Unlock()
	p.send(&protocol.WorkDoneProgressBegin{Kind: "begin", Title: title, Cancellable: ptr(true), Message: ptr("starting")})
	return p
}

// event turns an agent event into a progress report.
func (p *progress) event(ev session.Event) {
	var msg string
	switch e := ev.(type) {
	case session.ToolStarted:
		msg = strings.TrimSpace(e.Name + " " + clip(e.Args, 80))
	case session.ToolFinished:
		if e.Err != nil {
			msg = e.Name + " failed: " + clip(e.Err.Error(), 80)
		} else if len(e.Changed) > 0 {
			msg = "edited " + strings.Join(e.Changed, ", ")
		}
	case session.TurnFinished:
		msg = fmt.Sprintf("model turn %d done", e.Turn)
	case session.Retrying:
		msg = e.Message()
	}
	if msg != "" {
		p.send(&protocol.WorkDoneProgressReport{Kind: "report", Message: ptr(msg)})
	}
}

// end closes the progress and forgets the run.
func (p *progress) end(msg string) {
	p.send(&protocol.WorkDoneProgressEnd{Kind: "end", Message: ptr(msg)})
	p.s.mu.Lock()
	delete(p.s.runs, p.key)
	p.s.mu.Unlock()
}

func (p *progress) send(value any) {
	if p.token == nil {
		return
	}
	raw, err := protocol.Marshal(value)
	if err == nil {
		// The report must go out even when the run was just cancelled.
		err = p.s.client.Progress(context.WithoutCancel(p.ctx), &protocol.ProgressParams{Token: p.token, Value: raw})
	}
	if err != nil {
		p.s.log.Debug("lsp: cannot send progress", "err", err)
	}
}

// WorkDoneProgressCancel cancels the run reporting on the token.
func (s *Server) WorkDoneProgressCancel(ctx context.Context, params *protocol.WorkDoneProgressCancelParams) error {
	key := tokenKey(params.Token)
	s.mu.Lock()
	cancel := s.runs[key]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil
}

func tokenKey(t protocol.ProgressToken) string {
	switch v := t.(type) {
	case protocol.String:
		return "s:" + string(v)
	case protocol.Integer:
		return fmt.Sprintf("i:%d", v)
	}
	return ""
}

// clip shortens s to n bytes on one line, at a rune boundary.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
