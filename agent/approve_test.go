package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
)

// askLog is an approver that answers from a script and records what it
// was asked.
type askLog struct {
	mu     sync.Mutex
	asked  []tools.Approval
	answer tools.Decision
	err    error
}

func (a *askLog) Approve(_ context.Context, ap tools.Approval) (tools.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, ap)
	return a.answer, a.err
}

// TestCommandsRunOnlyWhenApproved: the agent asks its approver before a
// command runs, with the call and the command line as the preview; a
// rejection is an error the model reads and the command does not run;
// without an approver the shell is neither offered nor run; a call with
// invalid arguments fails without asking anyone.
func TestCommandsRunOnlyWhenApproved(t *testing.T) {
	touch := llmtest.ToolCall{ID: "c1", Name: "shell", Arguments: []byte(`{"command":"touch marker","cwd":"sub"}`)}
	bad := llmtest.ToolCall{ID: "c1", Name: "shell", Arguments: []byte(`{"command":"touch marker","timeout_seconds":-1}`)}
	tests := []struct {
		name      string
		approver  *askLog // nil: no approver
		call      llmtest.ToolCall
		wantAsked int
		wantRan   bool
		wantRead  string // in what the model read for the call
		wantShell bool   // the shell is offered
	}{
		{"allowed", &askLog{answer: tools.Allow}, touch, 1, true, "exit status 0", true},
		{"rejected", &askLog{answer: tools.Deny}, touch, 1, false, "the user rejected this: \"cd sub && touch marker\" was not run. Do not retry it unchanged", true},
		{"asking failed", &askLog{err: errors.New("the editor went away")}, touch, 1, false, "the editor went away", true},
		{"no approver", nil, touch, 0, false, "the shell tool is disabled", false},
		{"invalid arguments", &askLog{answer: tools.Allow}, bad, 0, false, "timeout_seconds", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"sub/keep": ""},
				llmtest.Turn{ToolCalls: []llmtest.ToolCall{tt.call}}, llmtest.Turn{Text: "done"})
			task := Task{Instruction: "touch a marker", Workspace: f.ws}
			if tt.approver != nil {
				task.Approver = tt.approver
			}
			if _, err := f.agent(t, Options{}).Run(context.Background(), task, nil); err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(filepath.Join(f.dir, "sub", "marker"))
			if ran := statErr == nil; ran != tt.wantRan {
				t.Errorf("the command ran: %v, want %v", ran, tt.wantRan)
			}
			reqs := f.srv.ChatRequests()
			if read := toolMessages(reqs[len(reqs)-1])["c1"]; !strings.Contains(read, tt.wantRead) {
				t.Errorf("the model read %q, want it to contain %q", read, tt.wantRead)
			}
			offered := false
			for _, tl := range reqs[0].Tools {
				offered = offered || tl.Function.Name == "shell"
			}
			if offered != tt.wantShell {
				t.Errorf("shell offered: %v, want %v", offered, tt.wantShell)
			}
			if tt.approver == nil {
				return
			}
			if len(tt.approver.asked) != tt.wantAsked {
				t.Fatalf("asked %d times, want %d", len(tt.approver.asked), tt.wantAsked)
			}
			if tt.wantAsked > 0 {
				a := tt.approver.asked[0]
				if a.ID != "c1" || a.Name != "shell" || a.Spec.Effect != tools.EffectExecute || a.Preview != "cd sub && touch marker" {
					t.Errorf("asked %+v", a)
				}
			}
		})
	}
}

// TestEditsAreStagedWithoutAsking: staged edits wait for the user's
// review of the changeset; the approver is not asked about them.
func TestEditsAreStagedWithoutAsking(t *testing.T) {
	f := newFixture(t, map[string]string{"a.go": "x := 1\n"}, editTurn, llmtest.Turn{Text: "ok"})
	asked := &askLog{answer: tools.Deny}
	res, err := f.agent(t, Options{}).Run(context.Background(), Task{Instruction: "edit", Workspace: f.ws, Approver: asked}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked.asked) != 0 || res.Changes.Empty() {
		t.Errorf("asked %d times; staged %d files", len(asked.asked), len(res.Changes.Changes()))
	}
}
