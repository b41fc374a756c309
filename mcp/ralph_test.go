package mcp

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// ralphHangGuard bounds a wait for a loop; it never decides a result.
const ralphHangGuard = 60 * time.Second

// gitRepo is a committed git repository holding a.txt ("one").
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := files(t, map[string]string{"a.txt": "one\n", "b.txt": "one\n"})
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "start"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	return dir
}

func gitSubjects(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("git", "log", "--format=%s")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_")), "|")
}

// ralphServer serves dir with Loom's agent on the scripted model and a
// thread store; approver is the server's policy (nil: no --allow-shell).
func ralphServer(t *testing.T, dir string, approver tools.Approver, turns ...llmtest.Turn) (*Server, *thread.Store, *llmtest.Server) {
	t.Helper()
	model := llmtest.NewServer(t, llmtest.Script{Turns: turns})
	st := openStore(t)
	s, err := New(Options{Roots: []string{dir}, Approver: approver, Sessions: &session.Service{Store: st},
		NewAgent: func(ws *workspace.Workspace) (session.Runner, error) {
			p, err := llm.New(llm.Config{Provider: "openai", BaseURL: model.URL, Model: "m", APIKey: "k"})
			if err != nil {
				return nil, err
			}
			reg, err := tools.NewBuiltinRegistry()
			if err != nil {
				return nil, err
			}
			return agent.New(agent.Options{Provider: p, Tools: reg, MaxTurns: 4, RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, st, model
}

func editTurn(path, old, new string) llmtest.ToolCall {
	b, _ := json.Marshal(map[string]string{"path": path, "old_text": old, "new_text": new})
	return llmtest.ToolCall{Name: "edit_file", Arguments: b}
}

// pollStatus calls loom_ralph_status until the loop no longer runs.
func pollStatus(t *testing.T, c *client.Client, id string) RalphStatus {
	t.Helper()
	deadline := time.Now().Add(ralphHangGuard)
	for {
		res := call(t, c, "loom_ralph_status", map[string]any{"id": id})
		if res.IsError {
			t.Fatalf("loom_ralph_status: %s", text(res))
		}
		var st RalphStatus
		if err := json.Unmarshal([]byte(structuredJSON(t, res)), &st); err != nil {
			t.Fatal(err)
		}
		if !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("loop %s still runs after %v: %s", id, ralphHangGuard, text(res))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startLoop(t *testing.T, c *client.Client, args map[string]any) string {
	t.Helper()
	res := call(t, c, "loom_ralph_start", args)
	if res.IsError {
		t.Fatalf("loom_ralph_start: %s", text(res))
	}
	var out struct{ ID string }
	if err := json.Unmarshal([]byte(structuredJSON(t, res)), &out); err != nil || out.ID == "" {
		t.Fatalf("loom_ralph_start answered %s (%v)", structuredJSON(t, res), err)
	}
	return out.ID
}

// TestRalphLoopOverMCP: a client hands a job to a loop with
// loom_ralph_start, which answers with the loop's ID while the loop runs
// on; polling loom_ralph_status follows it to done (the check passes and
// the promise is stated in iteration 2), with each iteration's thread in
// the store, titled for the loop, and its commit.
func TestRalphLoopOverMCP(t *testing.T) {
	dir := gitRepo(t)
	s, st, _ := ralphServer(t, dir, tools.AlwaysApprove,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{editTurn("a.txt", "one", "two")}},
		llmtest.Turn{Text: "<commit>a: two</commit>"},
		llmtest.Turn{Text: "Checked: all done.\n<promise>FINISHED</promise>"},
	)
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	id := startLoop(t, c, map[string]any{"prompt": "Make a.txt say two.", "checks": []string{"grep -q two a.txt"},
		"promise": "FINISHED", "commit": true, "max_iterations": 3})
	rec := pollStatus(t, c, id)
	if rec.State != "done" || len(rec.Iterations) != 2 || rec.Iterations[0].Commit == "" {
		t.Fatalf("the loop ended %s (%s) after %d iterations: %+v", rec.State, rec.Why, len(rec.Iterations), rec)
	}
	for _, it := range rec.Iterations {
		th, err := st.Get(context.Background(), it.Thread)
		if err != nil {
			t.Fatalf("iteration %d's thread %q: %v", it.N, it.Thread, err)
		}
		if want := "ralph " + id + " #"; !strings.HasPrefix(th.Title, want) {
			t.Errorf("thread title %q, want %q…", th.Title, want)
		}
		if len(it.Checks) != 1 || !it.Checks[0].Passed {
			t.Errorf("iteration %d's checks: %+v", it.N, it.Checks)
		}
	}
	if got := gitSubjects(t, dir); got != "a:_two|start" {
		t.Errorf("git log %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "two\n" {
		t.Errorf("a.txt = %q", b)
	}
}

// TestRalphStopOverMCP: loom_ralph_stop asks the running loop (its first
// iteration held by a command waiting for a file) to stop; the iteration
// ends whole (applied, committed) and no other starts; with no loop
// running, loom_ralph_stop is an error.
func TestRalphStopOverMCP(t *testing.T) {
	dir := gitRepo(t)
	gate := t.TempDir()
	started, release := filepath.Join(gate, "started"), filepath.Join(gate, "release")
	wait, _ := json.Marshal(map[string]string{"command": "touch '" + started + "'; while [ ! -e '" + release + "' ]; do sleep 0.05; done"})
	s, _, model := ralphServer(t, dir, tools.AlwaysApprove,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{editTurn("a.txt", "one", "two"), {Name: "shell", Arguments: wait}}},
		llmtest.Turn{Text: "<commit>first step</commit>"},
		llmtest.Turn{Text: "an iteration a stopped loop never starts"},
	)
	c := connectStdio(t, s, mcpgo.ClientCapabilities{})
	if res := call(t, c, "loom_ralph_stop", map[string]any{}); !res.IsError || !strings.Contains(text(res), "no Ralph loop is running") {
		t.Errorf("stop with no loop: %s", text(res))
	}
	id := startLoop(t, c, map[string]any{"prompt": "Step by step.", "commit": true, "max_iterations": 5})
	deadline := time.Now().Add(ralphHangGuard)
	for _, err := os.Stat(started); err != nil; _, err = os.Stat(started) {
		if time.Now().After(deadline) {
			t.Fatal("iteration 1's command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := call(t, c, "loom_ralph_stop", map[string]any{})
	if res.IsError || !strings.Contains(text(res), id) {
		t.Fatalf("loom_ralph_stop: %s", text(res))
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := pollStatus(t, c, id)
	if rec.State != "stopped" || rec.Why != "stopped by request after iteration 1" || len(rec.Iterations) != 1 ||
		rec.Iterations[0].Commit == "" || rec.Iterations[0].Thread == "" {
		t.Fatalf("the loop ended %s (%s): %+v", rec.State, rec.Why, rec)
	}
	if got := gitSubjects(t, dir); got != "first_step|start" {
		t.Errorf("git log %q", got)
	}
	if n := len(model.Requests()); n != 2 {
		t.Errorf("the model got %d requests, want 2", n)
	}
}

// TestRalphStartNeedsConsent: starting a loop runs commands and writes to
// disk, so it needs the server's --allow-shell or the user's yes through
// elicitation (shown the checks it will run); without either, or with a
// no, nothing starts and nothing is written. Bad arguments are refused
// before anyone is asked.
func TestRalphStartNeedsConsent(t *testing.T) {
	accept := mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: mcpgo.ElicitationResponseActionAccept,
		Content: map[string]any{"allow": true}}}
	decline := mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: mcpgo.ElicitationResponseActionDecline}}
	good := map[string]any{"prompt": "Work.", "checks": []string{"test -e a.txt"}, "promise": "OK", "max_iterations": 1}
	tests := []struct {
		name      string
		args      map[string]any
		elicit    *mcpgo.ElicitationResult // nil: the client cannot ask
		wantStart bool
		wantAsked bool
		wantErr   string
	}{
		{name: "the user allows it", args: good, elicit: &accept, wantStart: true, wantAsked: true},
		{name: "the user declines", args: good, elicit: &decline, wantAsked: true, wantErr: "did not allow"},
		{name: "nobody to ask", args: good, wantErr: "needs consent"},
		{name: "no prompt", args: map[string]any{"max_iterations": 1}, elicit: &accept, wantErr: `"prompt"`},
		{name: "a prompt file outside the workspace", args: map[string]any{"prompt_file": "../PROMPT.md"}, elicit: &accept, wantErr: "prompt_file: the prompt: "},
		{name: "a cost cap without a price", args: map[string]any{"prompt": "Work.", "max_cost": 1}, elicit: &accept, wantErr: "price"},
		{name: "a bad runtime", args: map[string]any{"prompt": "Work.", "max_runtime": "soon"}, elicit: &accept, wantErr: "max_runtime"},
		{name: "an unknown argument", args: map[string]any{"prompt": "Work.", "max_iteration": 2}, elicit: &accept, wantErr: "max_iteration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := gitRepo(t)
			s, _, model := ralphServer(t, dir, nil, llmtest.Turn{Text: "Nothing to do. <promise>OK</promise>"})
			caps := mcpgo.ClientCapabilities{}
			var opts []client.ClientOption
			u := &user{}
			if tt.elicit != nil {
				u.answer = *tt.elicit
				caps.Elicitation = &mcpgo.ElicitationCapability{Form: &struct{}{}}
				opts = append(opts, client.WithElicitationHandler(u))
			}
			c := connectStdio(t, s, caps, opts...)
			res := call(t, c, "loom_ralph_start", tt.args)
			u.mu.Lock()
			asked := append([]string(nil), u.asked...)
			u.mu.Unlock()
			if (len(asked) > 0) != tt.wantAsked {
				t.Errorf("the user was asked %d times, want asked: %v", len(asked), tt.wantAsked)
			}
			if tt.wantAsked && !strings.Contains(asked[0], "test -e a.txt") {
				t.Errorf("the question does not show the checks:\n%s", asked[0])
			}
			if !tt.wantStart {
				if !res.IsError || !strings.Contains(text(res), tt.wantErr) {
					t.Fatalf("result %q, want an error saying %q", text(res), tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dir, ".loom")); err == nil {
					t.Error("a refused start left a record")
				}
				if n := len(model.Requests()); n != 0 {
					t.Errorf("a refused start asked the model %d times", n)
				}
				return
			}
			if res.IsError {
				t.Fatalf("loom_ralph_start: %s", text(res))
			}
			var out struct{ ID string }
			json.Unmarshal([]byte(structuredJSON(t, res)), &out)
			if rec := pollStatus(t, c, out.ID); rec.State != "done" {
				t.Errorf("the loop ended %s: %s", rec.State, rec.Why)
			}
		})
	}
}
