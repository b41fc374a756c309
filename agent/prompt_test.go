package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
)

func TestSystemPromptAndOfferedTools(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		focus      []string
		want, not  []string
		wantShell  bool
		wantMapArg []string
		approver   tools.Approver
	}{
		{
			name:  "map and focus",
			opts:  Options{RepoMap: func(_ context.Context, focus []string) string { return "MAP:" + strings.Join(focus, ",") }},
			focus: []string{"a.go", "b/c.go"},
			want: []string{"Repository map:\nMAP:a.go,b/c.go", "Files in focus", "- a.go\n- b/c.go\n",
				"read-only tools (", "read_file", "edit tools (", "edit_file", "staged", "minimal", "short summary", "no tool calls"},
			not: []string{"shell"},
		},
		{
			name:      "no map, shell allowed",
			approver:  tools.AlwaysApprove,
			want:      []string{"Run commands (shell) only to build, test and inspect"},
			not:       []string{"Repository map", "Files in focus"},
			wantShell: true,
		},
		{
			name: "a panicking map is left out",
			opts: Options{RepoMap: func(context.Context, []string) string { panic("no map") }},
			not:  []string{"Repository map"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, llmtest.Turn{Text: "hi"})
			if _, err := f.agent(t, tt.opts).Run(context.Background(), Task{Instruction: "hello", Workspace: f.ws, Focus: tt.focus, Approver: tt.approver}, nil); err != nil {
				t.Fatal(err)
			}
			req := f.srv.ChatRequests()[0]
			sys := req.Messages[0]
			if sys.Role != "system" || !strings.Contains(sys.Content, f.ws.Root()) {
				t.Fatalf("first message %+v does not name the root %s", sys, f.ws.Root())
			}
			for _, w := range tt.want {
				if !strings.Contains(sys.Content, w) {
					t.Errorf("system prompt lacks %q:\n%s", w, sys.Content)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(sys.Content, n) {
					t.Errorf("system prompt has %q:\n%s", n, sys.Content)
				}
			}
			var shell, edit bool
			for _, tl := range req.Tools {
				shell = shell || tl.Function.Name == "shell"
				edit = edit || tl.Function.Name == "edit_file"
			}
			if shell != tt.wantShell || !edit {
				t.Errorf("offered shell %v (want %v), edit_file %v", shell, tt.wantShell, edit)
			}
		})
	}
}

func TestHistoryContinuesAConversation(t *testing.T) {
	f := newFixture(t, nil, llmtest.Turn{Text: "first answer"}, llmtest.Turn{Text: "second answer"})
	a := f.agent(t, Options{})
	res1, err := a.Run(context.Background(), Task{Instruction: "first", Workspace: f.ws}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := a.Run(context.Background(), Task{Instruction: "second", Workspace: f.ws, History: res1.Transcript}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range f.srv.ChatRequests()[1].Messages {
		roles = append(roles, m.Role+":"+m.Content[:min(len(m.Content), 13)])
	}
	if got := strings.Join(roles[1:], " | "); got != "user:first | assistant:first answer | user:second" || !strings.HasPrefix(roles[0], "system:") {
		t.Errorf("second request: %s", strings.Join(roles, " | "))
	}
	if len(res2.Transcript) != 5 || res2.Final != "second answer" {
		t.Errorf("transcript %d messages, final %q", len(res2.Transcript), res2.Final)
	}
}

func TestNewAndRunRejectBadInput(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a provider succeeded")
	}
	f := newFixture(t, nil)
	a := f.agent(t, Options{})
	other := newFixture(t, nil)
	for name, task := range map[string]Task{
		"no workspace":      {Instruction: "x"},
		"no instruction":    {Workspace: f.ws},
		"foreign changeset": {Instruction: "x", Workspace: f.ws, Changes: other.ws.NewChangeset()},
	} {
		if _, err := a.Run(context.Background(), task, nil); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
	if len(f.srv.Requests()) != 0 {
		t.Error("a rejected task reached the model")
	}
	d, err := New(Options{Provider: llm.WithRetry(nil, llm.RetryPolicy{})})
	if err != nil || d.opts.MaxTurns != DefaultMaxTurns || d.opts.ToolTimeout != DefaultToolTimeout ||
		d.opts.ContextWindow != DefaultContextWindow || d.opts.Tools == nil || len(d.toolsFor(tools.AlwaysApprove).specs) == 0 {
		t.Errorf("defaults not applied: %v %+v", err, d.opts)
	}
}

func TestTransitionsAreLoggedAtDebug(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, map[string]string{"a.go": "x := 1\n"}, editTurn, llmtest.Turn{Text: "ok"})
	if _, err := f.agent(t, Options{Logger: logger}).Run(context.Background(), Task{Instruction: "go", Workspace: f.ws}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="agent: transition" from="waiting_for_input(turn=0 msgs=0 tokens=0)" event=start to="calling_model(turn=1 msgs=2 tokens=0)"`,
		`event=model_finished to="executing_tools(turn=1 msgs=3`,
		`event=tools_finished to="calling_model(turn=2 msgs=4`,
		`event=model_finished to="done(turn=2 msgs=5`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}
