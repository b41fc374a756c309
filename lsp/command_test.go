package lsp

import (
	"context"
	"strings"
	"testing"

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
