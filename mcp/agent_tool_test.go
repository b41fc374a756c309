package mcp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// fakeRunner stages an edit of a.txt the way the agent would and ends as
// told; between staging and returning it may change the disk. Its
// transcript is the agent's: system prompt, history, instruction, answer.
type fakeRunner struct {
	stop       agent.StopReason
	err        error
	disturb    bool // write a.txt on disk after staging, as another editor would
	gotFocus   []string
	gotWorkDir string
	gotHistory []llm.Message
}

func (f *fakeRunner) Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error) {
	f.gotFocus, f.gotWorkDir, f.gotHistory = task.Focus, task.Workspace.Root(), task.History
	transcript := append([]llm.Message{{Role: llm.RoleSystem, Content: "system prompt"}}, task.History...)
	transcript = append(transcript, llm.Message{Role: llm.RoleUser, Content: task.Instruction},
		llm.Message{Role: llm.RoleAssistant, Content: "Edited a.txt."})
	cs := task.Workspace.NewChangeset()
	if _, err := cs.WriteFile("a.txt", []byte("edited\n")); err != nil {
		return agent.Result{}, err
	}
	onEvent(agent.ToolFinished{Name: "write_file", Changed: []string{"a.txt"}})
	if f.disturb {
		if err := os.WriteFile(task.Workspace.Abs("a.txt"), []byte("changed meanwhile\n"), 0o644); err != nil {
			return agent.Result{}, err
		}
	}
	return agent.Result{Final: " Edited a.txt. ", Changes: cs, StopReason: f.stop, Turns: 2, Transcript: transcript}, f.err
}

func TestLoomAgent(t *testing.T) {
	const diff = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,1 +1,1 @@\n-original\n+edited\n"
	tests := []struct {
		name       string
		runner     *fakeRunner
		factoryErr error
		args       map[string]any
		wantErr    string // "" for success
		wantText   string
		wantDisk   string
		wantFocus  string
		wantNoRun  bool // the request is refused before the agent runs
	}{
		{name: "diff only", runner: &fakeRunner{stop: agent.StopDone}, args: map[string]any{"task": "edit", "files": []string{"a.txt"}},
			wantText: "Edited a.txt.\n\nNot applied", wantDisk: "original\n", wantFocus: "a.txt"},
		{name: "apply", runner: &fakeRunner{stop: agent.StopDone}, args: map[string]any{"task": "edit", "apply": true},
			wantText: "Applied to disk.", wantDisk: "edited\n"},
		{name: "apply refused on conflict", runner: &fakeRunner{stop: agent.StopDone, disturb: true}, args: map[string]any{"task": "edit", "apply": true},
			wantErr: "conflict: a.txt", wantDisk: "changed meanwhile\n"},
		{name: "stopped at a limit", runner: &fakeRunner{stop: agent.StopMaxTurns}, args: map[string]any{"task": "edit"},
			wantText: "stopped at a limit (max_turns)", wantDisk: "original\n"},
		{name: "apply stopped at the turn limit", runner: &fakeRunner{stop: agent.StopMaxTurns}, args: map[string]any{"task": "edit", "apply": true},
			wantText: "stopped at a limit (max_turns) before the model finished. Not applied, although apply=true", wantDisk: "original\n"},
		{name: "apply stopped at the token limit", runner: &fakeRunner{stop: agent.StopMaxTokens}, args: map[string]any{"task": "edit", "apply": true},
			wantText: "stopped at a limit (max_tokens) before the model finished. Not applied, although apply=true", wantDisk: "original\n"},
		{name: "run failed", runner: &fakeRunner{stop: agent.StopFailed, err: errors.New("model unreachable")}, args: map[string]any{"task": "edit", "apply": true},
			wantErr: "The run failed: model unreachable. Nothing was written.", wantDisk: "original\n"},
		{name: "cancelled", runner: &fakeRunner{stop: agent.StopCancelled, err: fmt.Errorf("agent: run cancelled: %w", context.Canceled)}, args: map[string]any{"task": "edit", "apply": true},
			wantErr: "cancelled; nothing was written", wantDisk: "original\n"},
		{name: "no model", factoryErr: errors.New("llm: no model configured"), args: map[string]any{"task": "edit"},
			wantErr: "cannot start the agent: llm: no model configured", wantDisk: "original\n"},
		{name: "missing task", args: map[string]any{"files": []string{"a.txt"}}, wantErr: `"task" is required`, wantDisk: "original\n"},
		{name: "unknown argument", args: map[string]any{"task": "x", "aply": true}, wantErr: "unknown field", wantDisk: "original\n"},
		{name: "file outside the root", runner: &fakeRunner{stop: agent.StopDone}, args: map[string]any{"task": "x", "files": []string{"../../etc/passwd"}},
			wantErr: "outside the workspace root", wantDisk: "original\n", wantNoRun: true},
		{name: "thread without a store", args: map[string]any{"task": "x", "thread_id": "abc"},
			wantErr: `cannot continue thread "abc": threads are unavailable on this server: it was started without a thread database`, wantDisk: "original\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := files(t, map[string]string{"a.txt": "original\n"})
			s, err := New(Options{Roots: []string{dir}, NewAgent: func(*workspace.Workspace) (session.Runner, error) {
				if tt.factoryErr != nil {
					return nil, tt.factoryErr
				}
				if tt.runner == nil {
					return nil, errors.New("the agent should not have been built")
				}
				return tt.runner, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			res := call(t, connect(t, s), "loom_agent", tt.args)
			switch {
			case tt.wantErr != "":
				if !res.IsError || !strings.Contains(text(res), tt.wantErr) {
					t.Errorf("= %q (isError %v), want an error with %q", text(res), res.IsError, tt.wantErr)
				}
			case res.IsError:
				t.Fatalf("failed: %s", text(res))
			default:
				if !strings.Contains(text(res), tt.wantText) || !strings.Contains(text(res), diff) {
					t.Errorf("text = %q, want %q and the diff", text(res), tt.wantText)
				}
				js := structuredJSON(t, res)
				wantApplied := fmt.Sprintf(`"applied":%v`, tt.wantDisk == "edited\n")
				for _, want := range []string{`"files_changed":["a.txt"]`, `"thread_id":""`, `"summary":"Edited a.txt."`, wantApplied} {
					if !strings.Contains(js, want) {
						t.Errorf("structured %s lacks %s", js, want)
					}
				}
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != tt.wantDisk {
				t.Errorf("a.txt = %q, want %q", b, tt.wantDisk)
			}
			if tt.wantNoRun && tt.runner.gotWorkDir != "" {
				t.Errorf("the agent ran, with focus %v", tt.runner.gotFocus)
			}
			if tt.runner != nil && tt.wantFocus != "" && strings.Join(tt.runner.gotFocus, ",") != tt.wantFocus {
				t.Errorf("focus = %v, want %s", tt.runner.gotFocus, tt.wantFocus)
			}
		})
	}
}
