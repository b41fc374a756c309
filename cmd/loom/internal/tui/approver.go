package tui

import (
	"context"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/tools"
)

// approver asks its questions in the TUI: the run's goroutine hands the
// question to the model through its inbox and waits for the y/n/a key.
// "always" holds for as long as the approver lives (the session).
type approver struct {
	inbox chan<- tea.Msg
	done  <-chan struct{} // closed when the program ends: nobody will answer

	mu     sync.Mutex // one question at a time
	always map[string]bool
}

// questionMsg is a question for the person; answer takes the key.
type questionMsg struct {
	text   string
	answer chan rune // buffered: the model never waits on the run
}

func (a *approver) Approve(ctx context.Context, ap tools.Approval) (tools.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.always[ap.Name] {
		return tools.Allow, nil
	}
	q := questionMsg{text: cmdutil.ApprovalQuestion(ap), answer: make(chan rune, 1)}
	select {
	case a.inbox <- q:
	case <-ctx.Done():
		return tools.Deny, ctx.Err()
	case <-a.done:
		return tools.Deny, nil
	}
	select {
	case key := <-q.answer:
		switch key {
		case 'y':
			return tools.Allow, nil
		case 'a':
			a.always[ap.Name] = true
			return tools.Allow, nil
		}
		return tools.Deny, nil
	case <-ctx.Done(): // Ctrl-C stopped the run
		return tools.Deny, ctx.Err()
	case <-a.done:
		return tools.Deny, nil
	}
}
