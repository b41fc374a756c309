package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/llm/llmtest"
)

// runLoomEnv runs the binary in dir with env and returns stdout, stderr and
// the exit code.
func runLoomEnv(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := loomCommand(t, env, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// threadOf reads the thread ID loom run names on stderr.
func threadOf(t *testing.T, stderr string) string {
	t.Helper()
	_, after, ok := strings.Cut(stderr, "Thread ")
	id, _, _ := strings.Cut(after, " ")
	if !ok || id == "" {
		t.Fatalf("no thread named on stderr:\n%s", stderr)
	}
	return id
}

// TestApplyThreadOfRun: a run made without --apply leaves its edits with
// its thread: threads show --diff prints them, loom apply writes them
// without the model, once; continuing the thread starts from them.
func TestApplyThreadOfRun(t *testing.T) {
	srv := llmtest.NewServer(t, agentScript(t))
	dir := project(t)
	env := modelEnv(t, srv)
	_, stderr, code := runLoomEnv(t, dir, env, "run", "change the greeting to hello")
	if code != 0 {
		t.Fatalf("loom run: exit %d\n%s", code, stderr)
	}
	id := threadOf(t, stderr)
	requests := len(srv.Requests())

	diff, stderr, code := runLoomEnv(t, dir, env, "threads", "show", "--diff", id)
	if code != 0 || diff != wantRunDiff {
		t.Fatalf("threads show --diff: exit %d\n%s\nstdout:\n%s\nwant\n%s", code, stderr, diff, wantRunDiff)
	}

	// Continuing the thread: the model reads greet.go and must see its
	// own unapplied edit.
	cont := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{Name: "read_file", Arguments: []byte(`{"path":"greet.go"}`)}}},
		{Text: "It says hello."},
	}})
	_, stderr, code = runLoomEnv(t, dir, modelEnvWithDB(t, cont, env), "run", "--thread", id, "what does greeting return?")
	if code != 0 {
		t.Fatalf("continuing: exit %d\n%s", code, stderr)
	}
	reqs := cont.Requests()
	if last := reqs[len(reqs)-1]; !strings.Contains(last.Raw, `return \"hello\"`) {
		t.Errorf("continuing the thread, the model did not read its staged edit; last request:\n%.2000s", last.Raw)
	}

	out, stderr, code := runLoomEnv(t, dir, env, "apply", id[:8])
	if code != 0 || out != "modify greet.go\n" {
		t.Fatalf("loom apply: exit %d, stdout %q\n%s", code, out, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !strings.Contains(string(b), `"hello"`) {
		t.Errorf("greet.go after loom apply:\n%s", b)
	}
	if len(srv.Requests()) != requests {
		t.Error("loom apply called the model")
	}
	_, stderr, code = runLoomEnv(t, dir, env, "apply", id)
	if code != 0 || !strings.Contains(stderr, "no unapplied edits") {
		t.Errorf("a second loom apply: exit %d\n%s", code, stderr)
	}
}

// modelEnvWithDB points at another scripted model with the same database.
func modelEnvWithDB(t *testing.T, srv *llmtest.Server, base []string) []string {
	env := modelEnv(t, srv)
	for _, kv := range base {
		if strings.HasPrefix(kv, "LOOM_DB=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestApplyThreadOfMCP: loom_agent without apply leaves its edits with the
// thread it returns; loom apply writes them; a conflict writes nothing.
func TestApplyThreadOfMCP(t *testing.T) {
	for _, conflict := range []bool{false, true} {
		t.Run(map[bool]string{false: "clean", true: "conflict"}[conflict], func(t *testing.T) {
			dir := project(t)
			srv := llmtest.NewServer(t, agentEditScript())
			env := mcpEnv(t, srv)
			s := startMCP(t, mcpSetups[0], dir, env)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req := mcpgo.CallToolRequest{}
			req.Params.Name = "loom_agent"
			req.Params.Arguments = map[string]any{"task": "say hello instead of hi"}
			res, err := s.c.CallTool(ctx, req)
			if err != nil || res.IsError {
				t.Fatalf("loom_agent: %v %s", err, resultText(res))
			}
			var out struct {
				ThreadID string `json:"thread_id"`
				Applied  bool   `json:"applied"`
			}
			structured(t, res, &out)
			if out.ThreadID == "" || out.Applied {
				t.Fatalf("result %+v", out)
			}
			if conflict {
				os.WriteFile(filepath.Join(dir, "greet.go"), []byte("package main\n// mine\n"), 0o644)
			}
			stdout, stderr, code := runLoomEnv(t, dir, append(privateEnv(t), env...), "apply", out.ThreadID)
			b, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			switch {
			case !conflict && (code != 0 || stdout != "modify greet.go\n" || !strings.Contains(string(b), `"hello"`)):
				t.Errorf("loom apply: exit %d, stdout %q\n%s\ngreet.go:\n%s", code, stdout, stderr, b)
			case conflict && (code == 0 || !strings.Contains(stderr, "conflict: greet.go") || string(b) != "package main\n// mine\n"):
				t.Errorf("loom apply over a conflict: exit %d\n%s\ngreet.go:\n%s", code, stderr, b)
			}
		})
	}
}
