package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// ralphRepo is a git repository with a prompt, a ralph.yaml and a.txt.
func ralphRepo(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"PROMPT.md": "Change a.txt, one step at a time.\n", "ralph.yaml": yaml,
		"a.txt": "one\n", "b.txt": "one\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "start"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(gitEnv(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func gitEnv() []string {
	return []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1"}
}

func gitLog(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("git", "log", "--format=%s")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func editCall(path, old, new string) string {
	b, _ := json.Marshal(map[string]any{"name": "edit_file", "arguments": map[string]string{"path": path, "old_text": old, "new_text": new}})
	return string(b)
}

// TestRalphInterrupted sends SIGINT to `loom ralph` in the middle of its
// second iteration: while the model streams (the iteration's staged edit
// is then never applied: b.txt unchanged), and while the check of an
// applied iteration runs (the iteration is then committed whole before
// the loop stops). Either way the first iteration's commit stays, the
// loop exits 130, and `loom ralph status` tells it was cancelled.
func TestRalphInterrupted(t *testing.T) {
	tests := []struct {
		name     string
		check    string
		second   string // iteration 2's second turn
		waitFor  func(dir, stderr string) bool
		wantB    string
		wantLog  []string
		wantLast string
	}{
		{
			name:    "while the model streams",
			check:   "true",
			second:  `{"text":"going on and on ","fault":{"endless":true,"chunk_delay_ms":20}}`,
			waitFor: func(_, stderr string) bool { return strings.Contains(stderr, "going on and on") },
			wantB:   "one\n", wantLog: []string{"first step", "start"}, wantLast: "not applied",
		},
		{
			name:   "while the check runs",
			check:  `if [ -e .second ]; then sleep 60; fi; true`,
			second: `{"text":"<commit>second step</commit>"}`,
			waitFor: func(dir, stderr string) bool {
				return strings.Count(stderr, "ralph: check") == 1 && strings.Contains(stderr, "iteration 2 applied")
			},
			wantB: "two\n", wantLog: []string{"second step", "first step", "start"}, wantLast: "applied 2 files",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := llmtest.ParseScript([]byte(`{"turns":[
			  {"tool_calls":[` + editCall("a.txt", "one", "two") + `]},
			  {"text":"<commit>first step</commit>"},
			  {"tool_calls":[` + editCall("b.txt", "one", "two") + `,{"name":"write_file","arguments":{"path":".second","content":"x"}}]},
			  ` + tt.second + `,
			  {"text":"an iteration a cancelled loop never starts"}
			]}`))
			if err != nil {
				t.Fatal(err)
			}
			srv := llmtest.NewServer(t, s)
			dir := ralphRepo(t, "checks: ['"+strings.ReplaceAll(tt.check, "'", "''")+"']\nmax_iterations: 5\ncommit: true\n")
			env := append(modelEnv(t, srv), gitEnv()...)
			cmd := loomCommand(t, env, "ralph")
			cmd.Dir = dir
			var stdout bytes.Buffer
			var stderr lockedBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			waitFor(t, hangGuard, "iteration 2 to be under way", func() bool { return tt.waitFor(dir, stderr.String()) })
			cmd.Process.Signal(syscall.SIGINT)
			select {
			case err = <-exited:
			case <-time.After(hangGuard):
				cmd.Process.Kill()
				t.Fatalf("still running %v after SIGINT\n…%s", hangGuard, lastBytes(stderr.String(), 500))
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCancelled {
				t.Fatalf("exit = %v, want %d\n…%s", err, exitCancelled, lastBytes(stderr.String(), 500))
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "two\n" {
				t.Errorf("a.txt = %q: iteration 1 was lost", b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "b.txt")); string(b) != tt.wantB {
				t.Errorf("b.txt = %q, want %q", b, tt.wantB)
			}
			if log := gitLog(t, dir); strings.Join(log, "|") != strings.Join(tt.wantLog, "|") {
				t.Errorf("git log = %q, want %q", log, tt.wantLog)
			}
			if n := len(srv.Requests()); n != 4 {
				t.Errorf("the model got %d requests, want 4: a cancelled loop starts no iteration", n)
			}
			status := loomCommand(t, env, "ralph", "status")
			status.Dir = dir
			out, err := status.CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": cancelled") || !strings.Contains(string(out), "last iteration #2: ") ||
				!strings.Contains(string(out), tt.wantLast) {
				t.Errorf("loom ralph status: %v\n%s", err, out)
			}
		})
	}
}

// TestRalphCommandLine: flags override ralph.yaml; the loop runs to its
// promise; `loom ralph log` shows the iterations; bad settings are usage
// errors that change nothing.
func TestRalphCommandLine(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"tool_calls":[` + editCall("a.txt", "one", "two") + `]},
	  {"text":"Changed a.txt\n<promise>FINISHED</promise>"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := ralphRepo(t, "checks: ['false']\npromise: NEVER\nmax_iterations: 1\n")
	env := append(modelEnv(t, srv), gitEnv()...)
	run := func(args ...string) (string, int) {
		cmd := loomCommand(t, env, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	for _, bad := range [][]string{{"ralph", "--max-cost", "1"}, {"ralph", "--prompt", "../PROMPT.md"}} {
		if out, code := run(bad...); code == 0 || len(srv.Requests()) != 0 {
			t.Errorf("%v: exit %d, %d model requests\n%s", bad, code, len(srv.Requests()), out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".loom")); err == nil {
		t.Error("a refused loop left a record")
	}
	out, code := run("ralph", "--check", "grep -q two a.txt", "--promise", "FINISHED", "--max-iterations", "3")
	if code != 0 || !strings.Contains(out, "done after 1 iterations") {
		t.Fatalf("loom ralph: exit %d\n%s", code, out)
	}
	out, code = run("ralph", "log")
	if code != 0 || !strings.Contains(out, "#1 done, applied 1 files, promised") || !strings.Contains(out, "pass grep -q two a.txt") ||
		!strings.Contains(out, "thread ") {
		t.Errorf("loom ralph log: exit %d\n%s", code, out)
	}
	if out, code := run("ralph", "status", "no-such-loop"); code == 0 || !strings.Contains(out, `no Ralph loop "no-such-loop"`) {
		t.Errorf("status of an unknown loop: exit %d\n%s", code, out)
	}
}

// TestRalphWorktree: with --worktree the loop works and commits in a new
// worktree on its own branch; the user's tree and branch stay as they
// were, and `loom ralph status` in the user's repository shows the loop.
func TestRalphWorktree(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"tool_calls":[` + editCall("a.txt", "one", "two") + `]},
	  {"text":"<commit>a: two</commit>\n<promise>FINISHED</promise>"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := ralphRepo(t, "")
	env := append(modelEnv(t, srv), gitEnv()...)
	cmd := loomCommand(t, env, "ralph", "--worktree", "--commit", "--check", "grep -q two a.txt", "--promise", "FINISHED")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom ralph --worktree: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "one\n" {
		t.Errorf("the user's a.txt = %q: the loop touched the user's tree", b)
	}
	if log := gitLog(t, dir); len(log) != 1 {
		t.Errorf("the user's branch moved: %q", log)
	}
	status := loomCommand(t, env, "ralph", "status", "--json")
	status.Dir = dir
	js, err := status.Output()
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ ID, State, Worktree, Branch string }
	if err := json.Unmarshal(js, &rec); err != nil || rec.State != "done" || rec.Branch != "ralph/"+rec.ID {
		t.Fatalf("status: %v %+v\n%s", err, rec, js)
	}
	if b, _ := os.ReadFile(filepath.Join(rec.Worktree, "a.txt")); string(b) != "two\n" {
		t.Errorf("the worktree's a.txt = %q", b)
	}
	if log := gitLog(t, rec.Worktree); strings.Join(log, "|") != "a: two|start" {
		t.Errorf("the loop's branch: %q", log)
	}
}

// TestRalphStop: `loom ralph stop`, from another process, asks the loop
// whose first iteration is blocked (its shell command waits for a file)
// to stop. The iteration, once released, ends whole: applied, checked,
// committed, its thread recorded; no second iteration starts; the loop
// exits 130 and `loom ralph status` says it stopped by request. With no
// loop running, `loom ralph stop` fails and says so.
func TestRalphStop(t *testing.T) {
	gate := t.TempDir()
	started, release := filepath.Join(gate, "started"), filepath.Join(gate, "release")
	wait, _ := json.Marshal(map[string]any{"name": "shell", "arguments": map[string]string{
		"command": "touch '" + started + "'; while [ ! -e '" + release + "' ]; do sleep 0.05; done"}})
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"tool_calls":[` + editCall("a.txt", "one", "two") + `,` + string(wait) + `]},
	  {"text":"<commit>first step</commit>"},
	  {"text":"an iteration a stopped loop never starts"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := ralphRepo(t, "checks: ['grep -q two a.txt']\nmax_iterations: 5\ncommit: true\n")
	env := append(modelEnv(t, srv), gitEnv()...)
	run := func(args ...string) (string, int) {
		cmd := loomCommand(t, env, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := run("ralph", "stop"); code == 0 || !strings.Contains(out, "no Ralph loop is running") {
		t.Errorf("stop with no loop: exit %d\n%s", code, out)
	}

	loop := loomCommand(t, env, "ralph", "--allow-shell")
	loop.Dir = dir
	var stdout, stderr lockedBuffer
	loop.Stdout, loop.Stderr = &stdout, &stderr
	if err := loop.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- loop.Wait() }()
	defer loop.Process.Kill()
	waitFor(t, hangGuard, "iteration 1's command to start", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	out, code := run("ralph", "stop")
	if code != 0 || !strings.Contains(out, "asked loop ") {
		t.Fatalf("loom ralph stop: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(hangGuard):
		t.Fatalf("still running %v after the stop request\n…%s", hangGuard, lastBytes(stderr.String(), 500))
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCancelled {
		t.Fatalf("exit = %v, want %d\n…%s", err, exitCancelled, lastBytes(stderr.String(), 500))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "two\n" {
		t.Errorf("a.txt = %q: the stopped iteration was not applied", b)
	}
	if log := gitLog(t, dir); strings.Join(log, "|") != "first step|start" {
		t.Errorf("git log = %q, want the iteration's commit", log)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("the model got %d requests, want 2: a stopped loop starts no other iteration", n)
	}
	if _, err := os.Stat(filepath.Join(dir, ".loom", "ralph")); err != nil {
		t.Fatal(err)
	}
	js, code := run("ralph", "status", "--json")
	var rec struct {
		ID, State, Why string
		Iterations     []struct{ Thread, Commit string }
	}
	if err := json.Unmarshal([]byte(js), &rec); err != nil || rec.State != "stopped" || rec.Why != "stopped by request after iteration 1" ||
		len(rec.Iterations) != 1 || rec.Iterations[0].Thread == "" || rec.Iterations[0].Commit == "" {
		t.Fatalf("status (exit %d): %v %+v\n%s", code, err, rec, js)
	}
	if !strings.Contains(out, rec.ID) {
		t.Errorf("loom ralph stop did not name loop %s: %s", rec.ID, out)
	}
	if out, code := run("threads", "show", rec.Iterations[0].Thread); code != 0 || !strings.Contains(out, "first step") {
		t.Errorf("the iteration's thread: exit %d\n%s", code, out)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".loom", "ralph", "*.stop")); len(matches) != 0 {
		t.Errorf("stop requests left behind: %v", matches)
	}
	if out, code := run("ralph", "stop"); code == 0 || !strings.Contains(out, "no Ralph loop is running") {
		t.Errorf("stop after the loop ended: exit %d\n%s", code, out)
	}
}
