package ralph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

const (
	calcBroken = "package calc\n\nfunc Add(a, b int) int { return a - b }\n"
	calcTest   = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(1, 2); got != 3 {
		t.Fatalf("Add(1, 2) = %d, want 3", got)
	}
}
`
	plan = "# Plan\n- [ ] document Add\n- [ ] look at the test\n- [ ] fix Add\n"
)

// calcRepo is a Go module whose test fails, committed in a git repository.
func calcRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"go.mod": "module calc\n\ngo 1.21\n", "calc.go": calcBroken,
		"calc_test.go": calcTest, "PLAN.md": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "start")
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func toolArgs(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func edit(path, old, new string) llmtest.ToolCall {
	return llmtest.ToolCall{Name: "edit_file", Arguments: toolArgs(map[string]string{"path": path, "old_text": old, "new_text": new})}
}

// newLoop is a loop in dir whose agent is the scripted model, recording
// into a private thread store.
func newLoop(t *testing.T, dir string, turns ...llmtest.Turn) (*Loop, *llmtest.Server, *thread.Store) {
	t.Helper()
	srv := llmtest.NewServer(t, llmtest.Script{Turns: turns})
	p, err := llm.NewOpenAI(llm.Config{Model: "test-model", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Provider: p, Model: "test-model", MaxTurns: 5, RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := thread.Open(filepath.Join(t.TempDir(), "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Loop{Workspace: ws, Sessions: &session.Service{Store: st}, Agent: ag, Model: "test-model",
		Approver: tools.AlwaysApprove}, srv, st
}

// TestLoopFixesTheSuite: over three iterations the scripted agent fixes a
// failing test suite. The first iteration's edit leaves `go test` failing,
// and its output reaches the second iteration's prompt; the second states
// the promise too early and the failing check keeps the loop going; the
// third fixes Add and states the promise: the loop is done. Each
// iteration has its thread and its commit, the plan is ticked, and the
// record says it all.
func TestLoopFixesTheSuite(t *testing.T) {
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	dir := calcRepo(t)
	usage := &llmtest.Usage{PromptTokens: 1000, CompletionTokens: 100}
	l, srv, st := newLoop(t, dir,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			edit("calc.go", "func Add", "// Add adds.\nfunc Add"),
			edit("PLAN.md", "- [ ] document Add", "- [x] document Add"),
		}, Usage: usage},
		llmtest.Turn{Text: "Documented Add.\n<commit>calc: document Add</commit>", Usage: usage},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{edit("PLAN.md", "- [ ] look at the test", "- [x] look at the test")}, Usage: usage},
		llmtest.Turn{Text: "Looked at the test.\n<commit>plan: the test wants a sum</commit>\n<promise>TESTS PASS</promise>", Usage: usage},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			edit("calc.go", "return a - b", "return a + b"),
			edit("PLAN.md", "- [ ] fix Add", "- [x] fix Add"),
		}, Usage: usage},
		llmtest.Turn{Text: "Fixed Add.\n<commit>calc: Add adds</commit>\n<promise>TESTS PASS</promise>", Usage: usage},
		llmtest.Turn{Text: "an iteration the loop never runs"},
	)
	l.Config = Config{Prompt: "Make the tests pass.", Plan: "PLAN.md", Checks: []string{"go test ./..."},
		Promise: "TESTS PASS", Caps: Caps{Iterations: 5}, Commit: true, Price: Price{Input: 2, Output: 10}}
	var progress bytes.Buffer
	l.Progress = &progress
	rec, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != StateDone || len(rec.Iterations) != 3 {
		t.Fatalf("state %s (%s), %d iterations\n%s", rec.State, rec.Why, len(rec.Iterations), progress.String())
	}
	reqs := srv.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d model requests, want 6", len(reqs))
	}
	// Each iteration is a fresh session: its first request holds the
	// system prompt and one user message, no earlier iteration's turns.
	for i, r := range []llmtest.RecordedRequest{reqs[0], reqs[2], reqs[4]} {
		if n := len(r.Body.Messages); n != 2 {
			t.Errorf("iteration %d began with %d messages, want a fresh session's 2", i+1, n)
		}
	}
	second := reqs[2].Body.Messages[1].Content
	for _, want := range []string{"Make the tests pass.", "iteration 2", "`go test ./...` failed", "Add(1, 2) = -1, want 3", "<promise>TESTS PASS</promise>"} {
		if !strings.Contains(second, want) {
			t.Errorf("iteration 2's prompt lacks %q:\n%s", want, second)
		}
	}
	third := reqs[4].Body.Messages[1].Content
	if !strings.Contains(third, "stated the promise, but the checks above failed") {
		t.Errorf("iteration 3 was not told the promise did not hold:\n%s", third)
	}
	if strings.Contains(reqs[0].Body.Messages[1].Content, "failed") {
		t.Errorf("iteration 1's prompt tells of a failure:\n%s", reqs[0].Body.Messages[1].Content)
	}

	wantPass := []bool{false, false, true}
	wantMsg := []string{"calc: Add adds", "plan: the test wants a sum", "calc: document Add"}
	for i, it := range rec.Iterations {
		if it.Thread == "" || !it.Applied || len(it.Checks) != 1 || it.Checks[0].Passed != wantPass[i] || it.Commit == "" {
			t.Errorf("iteration %d: %+v", i+1, it)
			continue
		}
		th, err := st.Get(context.Background(), it.Thread)
		if err != nil || th.Status != thread.StatusDone || !strings.HasPrefix(th.Title, "ralph "+rec.ID) || len(th.Changes) != 0 {
			t.Errorf("iteration %d's thread: %v, %+v", i+1, err, th)
		}
	}
	if !rec.Iterations[1].Promised || rec.Iterations[0].Promised {
		t.Errorf("promises: %v %v", rec.Iterations[0].Promised, rec.Iterations[1].Promised)
	}
	if want := 3 * 2 * (1000*2 + 100*10) / 1e6; rec.Cost < want-1e-9 || rec.Cost > want+1e-9 {
		t.Errorf("cost $%v, want $%v", rec.Cost, want)
	}
	log := strings.Split(strings.TrimSpace(git(t, dir, "log", "--format=%s")), "\n")
	if len(log) != 4 || log[0] != wantMsg[0] || log[1] != wantMsg[1] || log[2] != wantMsg[2] || log[3] != "start" {
		t.Errorf("git log = %q, want the three iterations' commits over the first", log)
	}
	if status := git(t, dir, "status", "--porcelain", "--untracked-files=no"); status != "" {
		t.Errorf("tracked files left uncommitted:\n%s", status)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "PLAN.md")); strings.Contains(string(b), "[ ]") || strings.Count(string(b), "[x]") != 3 {
		t.Errorf("PLAN.md =\n%s", b)
	}
	saved, err := Find(dir, rec.ID[:10])
	if err != nil || saved.State != StateDone || len(saved.Iterations) != 3 || saved.Iterations[2].Commit != rec.Iterations[2].Commit {
		t.Errorf("the saved record: %v, %+v", err, saved)
	}
}

// TestLoopCaps: a loop that never converges (its check always fails) is
// stopped by each cap, and nothing is written after it.
func TestLoopCaps(t *testing.T) {
	never := func(n int) []llmtest.Turn {
		var turns []llmtest.Turn
		for range n {
			turns = append(turns, llmtest.Turn{Text: "Not yet. <promise>DONE</promise>", Usage: &llmtest.Usage{PromptTokens: 500_000, CompletionTokens: 0}})
		}
		return turns
	}
	// clock advances ten minutes each time the loop reads it.
	clock := func() func() time.Time {
		var mu sync.Mutex
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(10 * time.Minute)
			return now
		}
	}
	tests := []struct {
		name      string
		caps      Caps
		clock     func() time.Time
		wantIters int
		wantWhy   string
	}{
		{name: "iterations", caps: Caps{Iterations: 3}, wantIters: 3, wantWhy: "cap of 3 iterations"},
		{name: "runtime", caps: Caps{Runtime: time.Hour}, clock: clock(), wantIters: 2, wantWhy: "runtime cap of 1h0m0s"},
		{name: "cost", caps: Caps{Cost: 1.5}, wantIters: 3, wantWhy: "cost cap of $1.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, srv, _ := newLoop(t, dir, never(10)...)
			l.Config = Config{Prompt: "Work.", Checks: []string{"echo nope; exit 1"}, Promise: "DONE", Caps: tt.caps, Price: Price{Input: 1}}
			l.Now = tt.clock
			rec, err := l.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != StateCapped || len(rec.Iterations) != tt.wantIters || !strings.Contains(rec.Why, tt.wantWhy) {
				t.Errorf("state %s (%s), %d iterations; want capped after %d: %s", rec.State, rec.Why, len(rec.Iterations), tt.wantIters, tt.wantWhy)
			}
			if n := len(srv.Requests()); n != tt.wantIters {
				t.Errorf("%d model requests, want %d", n, tt.wantIters)
			}
			if c := rec.Iterations[0].Checks; len(c) != 1 || c[0].Passed || !strings.Contains(c[0].Output, "nope") {
				t.Errorf("checks %+v", c)
			}
		})
	}
}

// TestLoopRuntimeCapMidIteration: the runtime cap cuts an iteration whose
// model never finishes; its staged edit is not applied.
func TestLoopRuntimeCapMidIteration(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644)
	l, _, _ := newLoop(t, dir,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{edit("a.txt", "one", "two")}},
		llmtest.Turn{Text: "going on and on ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 20}},
	)
	l.Config = Config{Prompt: "Work.", Caps: Caps{Runtime: 300 * time.Millisecond}}
	rec, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != StateCapped || len(rec.Iterations) != 1 || rec.Iterations[0].Applied {
		t.Errorf("state %s (%s), %+v", rec.State, rec.Why, rec.Iterations)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "one\n" {
		t.Errorf("a.txt = %q: the cut iteration was applied", b)
	}
}

// TestLoopRefusesToStart: bad configuration changes nothing on disk.
func TestLoopRefusesToStart(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"cost cap without a price", Config{Prompt: "p", Caps: Caps{Cost: 5}}, "needs the model's price"},
		{"a plan outside", Config{Prompt: "p", Plan: "../PLAN.md", Caps: Caps{Iterations: 1}}, "the plan"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, srv, _ := newLoop(t, dir)
			l.Config = tt.cfg
			if _, err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 || len(srv.Requests()) != 0 {
				t.Errorf("a refused loop left %d entries and asked the model %d times", len(entries), len(srv.Requests()))
			}
		})
	}
}

// TestCheckTimeout: a check that outlives its timeout is killed, with the
// processes it started, and counts as failed.
func TestCheckTimeout(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := newLoop(t, dir, llmtest.Turn{Text: "Nothing to do."})
	l.Config = Config{Prompt: "Work.", Checks: []string{"sleep 30 & sleep 30"}, CheckTimeout: 200 * time.Millisecond, Caps: Caps{Iterations: 1}}
	done := make(chan Record, 1)
	go func() {
		rec, err := l.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- rec
	}()
	var rec Record
	select {
	case rec = <-done:
	case <-time.After(20 * time.Second): // a hang guard: the check was not killed
		t.Fatal("the loop still waits on a check past its timeout")
	}
	if c := rec.Iterations[0].Checks; len(c) != 1 || c[0].Passed || !c[0].TimedOut || c[0].ExitCode != -1 {
		t.Errorf("checks %+v, want one timed out", c)
	}
}

// TestOneLoopPerFolder: a second loop in a folder where one runs is
// refused, naming the first, and asks the model nothing; once the first
// ends, a loop may start.
func TestOneLoopPerFolder(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock(dir, "first-loop")
	if err != nil {
		t.Fatal(err)
	}
	l, srv, _ := newLoop(t, dir, llmtest.Turn{Text: "Nothing to do."})
	l.Config = Config{Prompt: "Work.", Caps: Caps{Iterations: 1}}
	_, err = l.Run(context.Background())
	if !errors.Is(err, ErrLoopRunning) || !strings.Contains(err.Error(), "first-loop") {
		t.Fatalf("second loop: %v, want ErrLoopRunning naming first-loop", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the refused loop asked the model %d times", n)
	}
	unlock()
	l2, _, _ := newLoop(t, dir, llmtest.Turn{Text: "Nothing to do."})
	l2.Config = Config{Prompt: "Work.", Caps: Caps{Iterations: 1}}
	if _, err := l2.Run(context.Background()); err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
}
