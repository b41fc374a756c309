package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// The MCP client end to end: `loom run` with the scripted model calling
// the tools of real third-party MCP servers from npm (pinned by
// test/e2e/mcpservers/package-lock.json, installed by test/install.sh),
// and of another `loom mcp`.

// npmServer is the entry point of one of the pinned servers.
func npmServer(t *testing.T, pkg string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "test", "e2e", "mcpservers", "node_modules", "@modelcontextprotocol", pkg, "dist", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not installed: run test/install.sh (%v)", pkg, err)
	}
	return p
}

// withMCPServers writes servers as the mcpServers of the config file of
// env's private home.
func withMCPServers(t *testing.T, env []string, servers map[string]any) {
	t.Helper()
	dir := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok {
			dir = v
		}
	}
	if dir == "" {
		t.Fatal("no XDG_CONFIG_HOME in the environment")
	}
	b, err := json.Marshal(map[string]any{"mcpServers": servers})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "loom"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loom", "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// captured runs the everything server behind a shell that copies what it
// reads to capture and writes its PID to pidfile: what the server was sent,
// seen on its side of the pipe, and a way to kill it.
func captured(t *testing.T, capture, pidfile string) map[string]any {
	return map[string]any{"command": "sh", "args": []string{"-c",
		`echo $$ > "$PIDFILE"; tee "$CAPTURE" | node "$SERVER" stdio`},
		"env": map[string]string{"CAPTURE": capture, "PIDFILE": pidfile, "SERVER": npmServer(t, "server-everything")}}
}

func script(t *testing.T, text string) llmtest.Script {
	t.Helper()
	s, err := llmtest.ParseScript([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// toolResults is every tool result the model was sent.
func toolResults(srv *llmtest.Server) string {
	var b strings.Builder
	for _, r := range srv.Requests() {
		if r.Body == nil {
			continue
		}
		for _, m := range r.Body.Messages {
			if m.Role == "tool" {
				b.WriteString(m.Content + "\n")
			}
		}
	}
	return b.String()
}

// TestRunUsesMCPServers: the model calls tools of server-everything and
// server-filesystem through `loom run`, in one turn (both read-only, so
// in parallel), then a long-running operation whose progress shows on
// stderr.
func TestRunUsesMCPServers(t *testing.T) {
	dir := project(t)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the notes of the project\n"), 0o644)
	srv := llmtest.NewServer(t, script(t, `{"turns":[
	  {"tool_calls":[{"name":"everything__echo","arguments":{"message":"hello from loom"}},
	                 {"name":"files__read_text_file","arguments":{"path":`+strconv.Quote(filepath.Join(dir, "notes.txt"))+`}}]},
	  {"tool_calls":[{"name":"everything__trigger-long-running-operation","arguments":{"duration":1,"steps":2}}]},
	  {"text":"Done."}
	]}`))
	env := modelEnv(t, srv)
	withMCPServers(t, env, map[string]any{
		"everything": map[string]any{"command": "node", "args": []string{npmServer(t, "server-everything"), "stdio"}},
		"files":      map[string]any{"command": "node", "args": []string{npmServer(t, "server-filesystem"), dir}},
	})
	cmd := loomCommand(t, env, "run", "use the servers")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("loom run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"tool everything__echo ok", "tool files__read_text_file ok",
		"tool everything__trigger-long-running-operation progress 1/2", "progress 2/2",
		"tool everything__trigger-long-running-operation ok"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	results := toolResults(srv)
	for _, want := range []string{"Echo: hello from loom", "the notes of the project", "Long running operation completed"} {
		if !strings.Contains(results, want) {
			t.Errorf("the model was not sent %q:\n%s", want, results)
		}
	}
	// The tools were offered under their namespaced names; those that
	// act (write_file) only to a run with someone to ask, which a run
	// without a terminal is not.
	first := srv.Requests()[0].Raw
	if !strings.Contains(first, `"everything__echo"`) || strings.Contains(first, `"files__write_file"`) {
		t.Errorf("first request's tools: %s", first)
	}
}

// TestRunCancelReachesMCPServer: interrupting `loom run` during a long
// call sends notifications/cancelled for it, seen on the server's stdin.
func TestRunCancelReachesMCPServer(t *testing.T) {
	dir := project(t)
	tmp := t.TempDir()
	capture, pidfile := filepath.Join(tmp, "stdin.log"), filepath.Join(tmp, "pid")
	srv := llmtest.NewServer(t, script(t, `{"turns":[
	  {"tool_calls":[{"name":"everything__trigger-long-running-operation","arguments":{"duration":600,"steps":600}}]},
	  {"text":"never asked"}
	]}`))
	env := modelEnv(t, srv)
	withMCPServers(t, env, map[string]any{"everything": captured(t, capture, pidfile)})
	cmd := loomCommand(t, env, "run", "wait")
	cmd.Dir = dir
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, hangGuard, "progress of the long call", func() bool {
		return strings.Contains(stderr.String(), "trigger-long-running-operation progress 1/600")
	})
	cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-exited:
	case <-time.After(hangGuard):
		cmd.Process.Kill()
		t.Fatalf("still running after SIGINT\n%s", stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCancelled {
		t.Fatalf("exit = %v, want %d\n%s", err, exitCancelled, stderr.String())
	}
	b, _ := os.ReadFile(capture)
	if !strings.Contains(string(b), `"method":"notifications/cancelled"`) {
		t.Errorf("the server was not sent notifications/cancelled; it read:\n%s", b)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("%d model requests, want 1", len(srv.Requests()))
	}
}

// TestRunRestartsKilledMCPServer: the server is killed during a call; the
// call fails as a tool error, the next call starts it again, and the run
// ends cleanly.
func TestRunRestartsKilledMCPServer(t *testing.T) {
	dir := project(t)
	tmp := t.TempDir()
	capture, pidfile := filepath.Join(tmp, "stdin.log"), filepath.Join(tmp, "pid")
	srv := llmtest.NewServer(t, script(t, `{"turns":[
	  {"tool_calls":[{"name":"everything__trigger-long-running-operation","arguments":{"duration":600,"steps":600}}]},
	  {"tool_calls":[{"name":"everything__echo","arguments":{"message":"after the restart"}}]},
	  {"text":"Done."}
	]}`))
	env := modelEnv(t, srv)
	withMCPServers(t, env, map[string]any{"everything": captured(t, capture, pidfile)})
	cmd := loomCommand(t, env, "run", "wait")
	cmd.Dir = dir
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, hangGuard, "progress of the long call", func() bool {
		return strings.Contains(stderr.String(), "trigger-long-running-operation progress 1/600")
	})
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The server and the shell that runs it: the whole pipeline dies
	// (children first, while they are still the shell's).
	kids := childrenOf(pid)
	if len(kids) == 0 {
		t.Fatal("the server's shell has no children")
	}
	for _, k := range kids {
		syscall.Kill(k, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case err = <-exited:
	case <-time.After(2 * hangGuard):
		cmd.Process.Kill()
		t.Fatalf("still running\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("loom run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"tool everything__trigger-long-running-operation error: MCP server everything stopped during the call",
		"tool everything__echo ok"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if !strings.Contains(toolResults(srv), "Echo: after the restart") {
		t.Errorf("the restarted server's answer did not reach the model:\n%s", toolResults(srv))
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so read after ")".
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if n, err := strconv.Atoi(filepath.Base(filepath.Dir(st))); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestRunChainedToLoom: `loom run` whose server list holds `loom mcp` on
// another folder reads that folder's file through it.
func TestRunChainedToLoom(t *testing.T) {
	dir, other := project(t), t.TempDir()
	os.WriteFile(filepath.Join(other, "elsewhere.txt"), []byte("a line from the other folder\n"), 0o644)
	srv := llmtest.NewServer(t, script(t, `{"turns":[
	  {"tool_calls":[{"name":"other__read_file","arguments":{"path":"elsewhere.txt"}}]},
	  {"text":"Done."}
	]}`))
	env := modelEnv(t, srv)
	withMCPServers(t, env, map[string]any{"other": map[string]any{"command": loomBin, "args": []string{"mcp", "--root", other}}})
	cmd := loomCommand(t, env, "run", "read the other folder")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("loom run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(toolResults(srv), "a line from the other folder") {
		t.Errorf("the other Loom's answer did not reach the model:\n%s\n%s", toolResults(srv), stderr.String())
	}
}

// TestRepositoryMCPServersNeedTrust: a repository's .loom/mcp.json starts
// nothing until the user trusts it, and again after it changes.
func TestRepositoryMCPServersNeedTrust(t *testing.T) {
	dir := project(t)
	marker := filepath.Join(t.TempDir(), "started")
	write := func(extra string) {
		os.MkdirAll(filepath.Join(dir, ".loom"), 0o755)
		cfg := `{"mcpServers":{"repo":{"command":"sh","args":["-c","touch \"$MARKER\"; exec node \"$SERVER\" stdio"],` +
			`"env":{"MARKER":` + strconv.Quote(marker) + `,"SERVER":` + strconv.Quote(npmServer(t, "server-everything")) + extra + `}}}}`
		if err := os.WriteFile(filepath.Join(dir, ".loom", "mcp.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	srv := llmtest.NewServer(t, script(t, `{"turns":[{"text":"Done."},{"text":"Done."}]}`))
	env := modelEnv(t, srv)
	run := func(args ...string) (string, string, error) {
		cmd := loomCommand(t, env, args...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	_, stderr, err := run("run", "anything")
	if err != nil {
		t.Fatalf("loom run: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("an untrusted repository's server was started")
	}
	if !strings.Contains(stderr, "loom mcp-servers trust") {
		t.Errorf("stderr does not say how to trust the list:\n%s", stderr)
	}
	out, _, err := run("mcp-servers", "list")
	if err != nil || !strings.Contains(out, "not trusted") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, stderr, err := run("mcp-servers", "trust"); err != nil || !strings.Contains(out, `"sh" "-c"`) {
		t.Fatalf("trust: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := run("mcp-servers", "test", "repo"); err != nil || !strings.Contains(out, "repo__echo") {
		t.Fatalf("test after trust: %v\n%s%s", err, out, stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the trusted server did not start")
	}
	os.Remove(marker)
	write(`,"MORE":"changed"`)
	if _, _, err := run("mcp-servers", "test", "repo"); err == nil {
		t.Error("a changed list ran without new consent")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a changed list's server was started without new consent")
	}
}
