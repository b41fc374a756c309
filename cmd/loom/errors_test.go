package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
)

// TestRunModelErrors: a run the model endpoint fails prints one message, on
// the last line of stderr: what happened and where, what the server said,
// what to do; no "agent: llm:" of the layers it passed through, and no
// turns, thread or edits of a run that did nothing.
func TestRunModelErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fault   *llmtest.Fault // the scripted server's answer; nil: nothing listens
		model   string
		message []string // the last line of stderr starts with the first and holds the rest, in order
	}{
		{name: "unreachable endpoint", model: "test-model",
			message: []string{"loom: connection failed at URL: ", "connection refused. Nothing is listening there"}},
		{name: "wrong key", model: "test-model", fault: &llmtest.Fault{Status: 401, Message: "Incorrect API key provided"},
			message: []string{"loom: the model endpoint URL answered 401 Unauthorized: Incorrect API key provided. The server rejected the API key: check OPENAI_API_KEY"}},
		{name: "bad model name", model: "nope", fault: &llmtest.Fault{Status: 404, Message: "The model `nope` does not exist"},
			message: []string{"loom: the model endpoint URL answered 404 Not Found: The model `nope` does not exist. Check the model name", `LOOM_MODEL="nope"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := "http://127.0.0.1:9/v1"
			if tt.fault != nil {
				srv := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{{Fault: tt.fault}}})
				url = srv.URL
			}
			env := privateEnv(t, "LOOM_MODEL="+tt.model, "LOOM_BASE_URL="+url, "LOOM_API_KEY=sk-test",
				"LOOM_DB="+filepath.Join(t.TempDir(), "threads.db"))
			cmd := loomCommand(t, env, "run", "say hi")
			cmd.Dir = project(t)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure {
				t.Fatalf("loom run: %v, want exit %d\n%s", err, exitFailure, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := strings.ReplaceAll(lines[len(lines)-1], url, "URL")
			at := 0
			for i, m := range tt.message {
				j := strings.Index(last[at:], m)
				if j < 0 || i == 0 && j != 0 {
					t.Fatalf("the last line of stderr is not %q…:\n%s", tt.message, stderr.String())
				}
				at += j + len(m)
			}
			for _, bad := range []string{"agent:", "llm:", " turns", "Thread ", "No edits"} {
				if strings.Contains(stderr.String(), bad) {
					t.Errorf("stderr holds %q:\n%s", bad, stderr.String())
				}
			}
			if strings.Count(stderr.String(), "loom: ") != 1 || stdout.Len() != 0 {
				t.Errorf("want one message on stderr and nothing on stdout:\nstdout: %q\nstderr:\n%s", stdout.String(), stderr.String())
			}
		})
	}
}
