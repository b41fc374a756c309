package main

import (
	"bytes"
	"context"
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

// agentScript makes the model read greet.go, edit it, and finish.
func agentScript(t *testing.T) llmtest.Script {
	t.Helper()
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"text":"Let me look.","tool_calls":[{"name":"read_file","arguments":{"path":"greet.go"}}]},
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"Changed the greeting to hello."}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// modelEnv points the child at the scripted model and keeps it away from
// the developer's own configuration.
func modelEnv(t *testing.T, srv *llmtest.Server) []string {
	return privateEnv(t, "LOOM_MODEL=test-model", "LOOM_BASE_URL="+srv.URL,
		"LOOM_DB="+filepath.Join(t.TempDir(), "threads.db"))
}

const wantRunDiff = `diff --git a/greet.go b/greet.go
--- a/greet.go
+++ b/greet.go
@@ -1,3 +1,3 @@
 package main
 
-func greeting() string { return "hi" }
+func greeting() string { return "hello" }
`

func TestRunPrintsDiff(t *testing.T) {
	for _, apply := range []bool{false, true} {
		t.Run(map[bool]string{false: "diff only", true: "apply"}[apply], func(t *testing.T) {
			srv := llmtest.NewServer(t, agentScript(t))
			dir := project(t)
			args := []string{"run", "change the greeting to hello"}
			if apply {
				args = append(args, "--apply")
			}
			cmd := loomCommand(t, modelEnv(t, srv), args...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("loom run: %v\n%s", err, stderr.String())
			}
			if stdout.String() != wantRunDiff {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout.String(), wantRunDiff)
			}
			for _, want := range []string{"tool read_file started", "tool edit_file ok", "model: Changed the greeting to hello.\n"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			if got := strings.Contains(string(b), `"hello"`); got != apply {
				t.Errorf("greet.go changed = %v, want %v", got, apply)
			}
			if n := len(srv.Requests()); n != 3 {
				t.Errorf("%d model requests, want 3", n)
			}
		})
	}
}

// TestRunApplyUnfinished: a run stopped at --max-turns or --max-tokens
// after staging an edit applies nothing, despite --apply, shows the edit
// and says why it was not applied; it exits 3.
func TestRunApplyUnfinished(t *testing.T) {
	// The model edits, then would need another turn to finish.
	edit := `{"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}],
	  "usage":{"prompt_tokens":900,"completion_tokens":200}}`
	for _, limit := range []string{"--max-turns=1", "--max-tokens=1000"} {
		t.Run(limit, func(t *testing.T) {
			s, err := llmtest.ParseScript([]byte(`{"turns":[` + edit + `,{"text":"Done."}]}`))
			if err != nil {
				t.Fatal(err)
			}
			srv := llmtest.NewServer(t, s)
			dir := project(t)
			before, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			cmd := loomCommand(t, modelEnv(t, srv), "run", "--apply", limit, "change the greeting to hello")
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitLimit {
				t.Fatalf("exit = %v, want %d\n%s", err, exitLimit, stderr.String())
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !bytes.Equal(after, before) {
				t.Errorf("greet.go was written by an unfinished run:\n%s", after)
			}
			if stdout.String() != wantRunDiff {
				t.Errorf("stdout =\n%s\nwant the staged edit\n%s", stdout.String(), wantRunDiff)
			}
			for _, want := range []string{"Not applied, despite --apply: the run did not finish", "stopped at a limit"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "Applied to disk") {
				t.Errorf("stderr claims the edit was applied:\n%s", stderr.String())
			}
		})
	}
}

func TestRunWithoutModel(t *testing.T) {
	cmd := loomCommand(t, privateEnv(t), "run", "anything")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure {
		t.Fatalf("exit = %v, want %d", err, exitFailure)
	}
	for _, want := range []string{"no model configured", "LOOM_MODEL", "ollama pull", "http://localhost:11434/v1", "config.json"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

// TestRunCancelled sends SIGINT while the model streams an answer that
// never ends, so only the interrupt can stop the run: it stops cleanly with
// exit code 130, writes nothing and asks the model nothing more.
func TestRunCancelled(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"an answer that goes on","fault":{"endless":true,"chunk_delay_ms":20}},
	  {"text":"a turn a cancelled run never asks for"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := project(t)
	cmd := loomCommand(t, modelEnv(t, srv), "run", "--apply", "change it")
	cmd.Dir = dir
	var stdout bytes.Buffer
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Interrupt once the endless answer shows on stderr.
	waitFor(t, hangGuard, "the answer to stream", func() bool {
		return strings.Contains(stderr.String(), "an answer that goes on")
	})
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err = <-exited:
	case <-time.After(hangGuard):
		cmd.Process.Kill()
		t.Fatalf("still running %v after SIGINT\n…%s", hangGuard, lastBytes(stderr.String(), 300))
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCancelled {
		t.Fatalf("exit = %v, want %d\n…%s", err, exitCancelled, lastBytes(stderr.String(), 300))
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("the model got %d requests, want 2: a cancelled run asks nothing more", n)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); strings.Contains(string(b), "hello") {
		t.Error("a cancelled run applied its edit")
	}
	if !strings.Contains(stdout.String(), `+func greeting() string { return "hello" }`) {
		t.Errorf("the staged edit was not printed:\n%s", stdout.String())
	}
}

// TestRepl drives the REPL through piped input: an instruction, /diff,
// /apply, /quit.
func TestRepl(t *testing.T) {
	srv := llmtest.NewServer(t, agentScript(t))
	dir := project(t)
	cmd := loomCommand(t, modelEnv(t, srv), "repl")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("change the greeting\n/diff\n/apply\n/quit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom repl: %v\n%s", err, out)
	}
	for _, want := range []string{"Changed the greeting to hello.", `+func greeting() string { return "hello" }`, "Applied 1 file(s)."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !strings.Contains(string(b), `"hello"`) {
		t.Errorf("greet.go = %q after /apply", b)
	}
}

// TestRunRecordsThread: a run is recorded as a thread, and --thread
// continues it with the earlier conversation sent to the model.
func TestRunRecordsThread(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[{"text":"First answer."},{"text":"Second answer."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := project(t)
	env := modelEnv(t, srv)
	runLoom := func(args ...string) string {
		cmd := loomCommand(t, env, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("loom %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := runLoom("run", "--json", "explain the greeting")
	var first struct {
		Thread string `json:"thread_id"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &first); err != nil || first.Thread == "" {
		t.Fatalf("no thread in %s (%v)", out, err)
	}
	runLoom("run", "--thread", first.Thread, "and now shorter")
	reqs := srv.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want 2", len(reqs))
	}
	var sent []string
	for _, m := range reqs[1].Messages {
		sent = append(sent, m.Content)
	}
	joined := strings.Join(sent, "\n")
	for _, want := range []string{"explain the greeting", "First answer.", "and now shorter"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the continued run did not send %q; it sent:\n%s", want, joined)
		}
	}
	if out := runLoom("threads", "show", first.Thread); !strings.Contains(out, "and now shorter") || !strings.Contains(out, "Second answer.") {
		t.Errorf("loom threads show:\n%s", out)
	}
}

// TestReplResume: a second REPL session continues the first one's thread.
func TestReplResume(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[{"text":"Noted the color blue."},{"text":"You said blue."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := project(t)
	env := modelEnv(t, srv)
	repl := func(input string) string {
		cmd := loomCommand(t, env, "repl")
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(input)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("loom repl: %v\n%s", err, out)
		}
		return string(out)
	}
	out := repl("remember the color blue\n/quit\n")
	i := strings.Index(out, "(thread ")
	if i < 0 {
		t.Fatalf("no thread id in:\n%s", out)
	}
	id := strings.Fields(out[i+len("(thread "):])[0]
	id = strings.TrimSuffix(id, ")")
	out = repl("/resume " + id + "\nwhich color?\n/quit\n")
	if !strings.Contains(out, "Continuing thread "+id) || !strings.Contains(out, "You said blue.") {
		t.Fatalf("resume output:\n%s", out)
	}
	var sent []string
	for _, m := range srv.ChatRequests()[1].Messages {
		sent = append(sent, m.Content)
	}
	if joined := strings.Join(sent, "\n"); !strings.Contains(joined, "remember the color blue") || !strings.Contains(joined, "Noted the color blue.") {
		t.Errorf("the resumed session did not send the earlier conversation:\n%s", joined)
	}
}

// TestRunModelBounds: the model bounds set in the environment reach the
// model call. The first answer stalls after its headers; the run retries
// after LOOM_FIRST_BYTE_TIMEOUT, says which timeout fired on one line, and finishes with
// the output cap of LOOM_MAX_OUTPUT_TOKENS on every request. A bound that
// is not a duration stops the run with a message naming it.
func TestRunModelBounds(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"text":"never sent","fault":{"stall_after_headers":true}},
	  {"text":"Done."}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := loomCommandContext(t, ctx, append(modelEnv(t, srv), "LOOM_FIRST_BYTE_TIMEOUT=2s", "LOOM_MAX_OUTPUT_TOKENS=321"), "run", "say done")
	cmd.Dir = project(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom run: %v\n%s", err, out)
	}
	for _, want := range []string{"model request failed (no answer within 2s, first_byte_timeout); retrying in ", " (attempt 2 of 3)\n", "model: Done.\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One line, without the advice to try again while Loom does.
	if strings.Count(string(out), "model request failed") != 1 || strings.Contains(string(out), "try again") {
		t.Errorf("the retry is not one line of its own:\n%s", out)
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 2 || reqs[0].MaxTokens != 321 || reqs[1].MaxTokens != 321 {
		t.Errorf("requests %d, max_tokens %+v; want 2 requests capped at 321", len(reqs), reqs)
	}

	cmd = loomCommandContext(t, ctx, append(modelEnv(t, srv), "LOOM_IDLE_TIMEOUT=soon"), "run", "say done")
	cmd.Dir = project(t)
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure || !strings.Contains(string(out), "LOOM_IDLE_TIMEOUT") {
		t.Errorf("exit %v, want %d with a message naming LOOM_IDLE_TIMEOUT:\n%s", err, exitFailure, out)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests after the bad bound, want still 2", n)
	}
}

// lastBytes is the end of a long output, for failure messages.
func lastBytes(s string, n int) string {
	return s[max(0, len(s)-n):]
}

// TestRunTurnsAgreeWithThreadsList: the turns `loom run` reports are the
// turns `loom threads list` shows for its thread (the instruction is no
// model turn), and the thread's unapplied edits are marked.
func TestRunTurnsAgreeWithThreadsList(t *testing.T) {
	srv := llmtest.NewServer(t, agentScript(t))
	env := modelEnv(t, srv)
	cmd := loomCommand(t, env, "run", "change the greeting")
	cmd.Dir = project(t)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 turns, ") {
		t.Fatalf("loom run: %v\n%s", err, out)
	}
	list := loomCommand(t, env, "threads", "list")
	listed, err := list.Output()
	lines := strings.Split(strings.TrimSpace(string(listed)), "\n")
	if err != nil || len(lines) != 2 {
		t.Fatalf("threads list: %v\n%s", err, listed)
	}
	// ID, date, time, status, turns, edits, title.
	if f := strings.Fields(lines[1]); f[4] != "3" || f[5] != "unapplied" {
		t.Errorf("threads list shows %s turns, edits %s; want 3, unapplied:\n%s", f[4], f[5], listed)
	}
}

// TestRunClosedPipe: a run whose output pipe is closed (`loom run … | head
// -1`) ends as cancelled, and its thread says so instead of running for
// ever.
func TestRunClosedPipe(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[{"text":"still talking ","fault":{"endless":true,"chunk_delay_ms":20}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	env := modelEnv(t, llmtest.NewServer(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a hang guard
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := loomCommandContext(t, ctx, env, "run", "talk")
	cmd.Dir = project(t)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Read until the answer streams, then close the pipe as head would.
	buf := make([]byte, 4096)
	for seen := ""; !strings.Contains(seen, "still talking"); {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("reading loom's output: %v (%q)", err, seen)
		}
		seen += string(buf[:n])
	}
	r.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatal("loom run went on after its pipe was closed")
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("loom run: %v, want exit 130 (cancelled)", err)
	}
	out, err := loomCommand(t, env, "threads", "list", "--json").Output()
	if err != nil || !strings.Contains(string(out), `"status": "cancelled"`) {
		t.Errorf("the thread is not cancelled: %v\n%s", err, out)
	}
}
