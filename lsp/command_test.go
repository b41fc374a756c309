package lsp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// TestRunDescribesTheCode: a client's own instruction on a range is told
// where the code is; a code action's instruction, which already says so,
// is passed as it is.
func TestRunDescribesTheCode(t *testing.T) {
	rng := map[string]any{"start": map[string]any{"line": 5, "character": 0}, "end": map[string]any{"line": 8, "character": 0}}
	tests := []struct {
		name string
		arg  map[string]any
		want string // what the instruction must end with; "" for unchanged
	}{
		{"range from a client", map[string]any{"instruction": "say hello", "uri": "file:///elsewhere/greet.go", "range": rng, "answer": true},
			"say hello\n\nThe code in question: /elsewhere/greet.go, lines 6-8"},
		{"described by a code action", map[string]any{"instruction": "say hello", "uri": "file:///elsewhere/greet.go", "range": rng, "answer": true, "described": true},
			"say hello"},
		{"no range", map[string]any{"instruction": "say hello", "answer": true}, "say hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := &answerer{}
			var got string
			srv, _ := serveInit(t, Options{NewAgent: func(*workspace.Workspace) (session.Runner, error) {
				return runnerFunc(func(instruction string) { got = instruction }, runner), nil
			}})
			if _, err := execute(srv, CommandRun, tt.arg); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("instruction = %q, want %q", got, tt.want)
			}
			if !strings.HasPrefix(got, "say hello") {
				t.Errorf("the client's instruction was lost: %q", got)
			}
		})
	}
}

// spy records the instruction a run gets, then answers as next does.
type spy struct {
	saw  func(string)
	next session.Runner
}

func runnerFunc(saw func(string), next session.Runner) session.Runner { return spy{saw, next} }

func (s spy) Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error) {
	s.saw(task.Instruction)
	return s.next.Run(ctx, task, onEvent)
}

// limited stages its edits and stops at a limit, as a run out of turns.
type limited struct{ stager }

func (l limited) Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error) {
	res, err := l.stager.Run(ctx, task, onEvent)
	res.StopReason = agent.StopMaxTurns
	return res, err
}

// TestStoppedRunNotApplied: a run stopped at a limit sends the editor no
// edit (half a piece of work is not applied, as under MCP and `loom run
// --apply`); its edits stay with its thread for `loom apply`.
func TestStoppedRunNotApplied(t *testing.T) {
	for _, tt := range []struct {
		name      string
		runner    session.Runner
		wantEdits int
	}{
		{"finished run is applied", stager{"p.go": "package q\n"}, 1},
		{"run stopped at a limit is not", limited{stager{"p.go": "package q\n"}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			caps := protocol.ClientCapabilities{Workspace: &protocol.WorkspaceClientCapabilities{ApplyEdit: ptr(true)}}
			ed := &editor{edits: make(chan protocol.WorkspaceEdit, 1)}
			st := openStore(t)
			_, srv, _, _ := serveClient(t, Options{Sessions: &session.Service{Store: st},
				NewAgent: func(*workspace.Workspace) (session.Runner, error) { return tt.runner, nil }}, ed, caps)
			res, err := execute(srv, CommandRun, map[string]any{"instruction": "rename the package"})
			var out RunResult
			if err != nil || json.Unmarshal(res, &out) != nil {
				t.Fatalf("loom.run = %s, %v", res, err)
			}
			if len(ed.edits) != tt.wantEdits || out.Applied != (tt.wantEdits == 1) {
				t.Fatalf("the editor got %d edits, applied=%v; want %d", len(ed.edits), out.Applied, tt.wantEdits)
			}
			if !slices.Equal(out.Files, []string{"p.go"}) {
				t.Errorf("files = %q", out.Files)
			}
			th, err := st.Get(context.Background(), out.ThreadID)
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(th.Changes) > 0; kept != (tt.wantEdits == 0) {
				t.Errorf("the thread keeps %d staged changes; want them kept only when not applied", len(th.Changes))
			}
		})
	}
}
