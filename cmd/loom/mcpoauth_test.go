package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/mcpclient/oauthtest"
)

// TestMCPServerLoginThroughTheBinaries: an HTTP MCP server that asks for
// OAuth (behind a real oidc-provider) is not used until `loom mcp-servers
// login` signed in, and the error says so; login prints the address, the
// browser's sign-in comes back to it, and then `loom run` calls the
// server's tool with the token; `logout` forgets it.
func TestMCPServerLoginThroughTheBinaries(t *testing.T) {
	issuer := oauthtest.StartAuthServer(t)
	ps := oauthtest.StartProtected(t, issuer)
	model := llmtest.NewServer(t, script(t, `{"turns":[
	  {"tool_calls":[{"name":"remote__whoami","arguments":{}}]},
	  {"text":"Done."}
	]}`))
	env := modelEnv(t, model)
	withMCPServers(t, env, map[string]any{"remote": map[string]any{"url": ps.URL}})
	dir := project(t)
	run := func(args ...string) (string, string, error) {
		cmd := loomCommand(t, env, args...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	if _, stderr, err := run("mcp-servers", "test", "remote"); err == nil || !strings.Contains(stderr, "loom mcp-servers login remote") {
		t.Fatalf("test before signing in: %v\n%s", err, stderr)
	}

	login := loomCommand(t, env, "mcp-servers", "login", "remote", "--no-browser")
	login.Dir = dir
	errPipe, err := login.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
		if u, ok := strings.CutPrefix(sc.Text(), "  "); ok && strings.HasPrefix(u, issuer) {
			if err := oauthtest.Browser(t, "bob")(u); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
	}
	if err := login.Wait(); err != nil || !strings.Contains(said.String(), "Signed in to remote.") {
		t.Fatalf("login: %v\n%s", err, said.String())
	}

	if out, stderr, err := run("mcp-servers", "test", "remote"); err != nil || !strings.Contains(out, "remote__whoami") {
		t.Fatalf("test after signing in: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := run("mcp-servers", "list"); err != nil || !strings.Contains(out, "started (signed in)") {
		t.Errorf("list after signing in: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := run("run", "who am I?"); err != nil {
		t.Fatalf("loom run: %v\n%s", err, stderr)
	}
	if got := toolResults(model); !strings.Contains(got, "you are bob") {
		t.Errorf("the model read %q", got)
	}
	for _, tok := range ps.Accepted() {
		if strings.Contains(said.String(), tok) {
			t.Error("login printed a token")
		}
	}

	if _, stderr, err := run("mcp-servers", "logout", "remote"); err != nil || !strings.Contains(stderr, "Signed out of remote") {
		t.Fatalf("logout: %v\n%s", err, stderr)
	}
	if _, stderr, err := run("mcp-servers", "test", "remote"); err == nil || !strings.Contains(stderr, "loom mcp-servers login remote") {
		t.Errorf("test after signing out: %v\n%s", err, stderr)
	}
}
