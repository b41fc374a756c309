package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/auth/mailtest"
)

// startServer starts `loom server` on a free loopback port with the given
// configuration file and returns its URL; it is stopped with the test.
func startServer(t *testing.T, env []string, config string) string {
	t.Helper()
	cmd := loomCommand(t, env, "server", "--config", config)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1]
		}
	}
	t.Fatalf("loom server never listened (%v)", lines.Err())
	return ""
}

// TestLoginThroughTheBinaries: a fresh `loom server` bootstrapped by `loom
// server admin`; `loom login` prints a code, headless Chromium signs the
// owner in through the magic link mailpit received and approves it;
// `loom whoami` then names the owner. With no model configured here, `loom
// doctor` names the team server and `loom run` goes through its proxy (the
// upstream sees the server's key, never the user's token), and `loom
// usage` counts the call. After `loom logout` the server refuses the token.
func TestLoginThroughTheBinaries(t *testing.T) {
	suite, err := filepath.Abs("../../test/e2e/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run test/install.sh")
	}
	mp := mailtest.Start(t)
	env := privateEnv(t)
	dir := t.TempDir()
	port := freePort(t)
	upstream := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "Nothing to change."}}})
	const upstreamKey = "sk-upstream-only-the-server-knows"
	cfg, _ := json.Marshal(map[string]any{
		"listen":   "127.0.0.1:" + port,
		"database": filepath.Join(dir, "server.db"),
		"smtp":     map[string]any{"addr": mp.SMTP, "from": "Loom <loom@example.test>"},
		"proxy": map[string]any{
			"upstreams": []any{map[string]any{"name": "local", "kind": "openai-compatible", "base_url": upstream.URL, "key_env": "LOOM_TEST_UPSTREAM_KEY"}},
			"models":    []any{map[string]any{"name": "team-model", "routes": []any{map[string]any{"upstream": "local"}}}},
		},
	})
	config := filepath.Join(dir, "server.json")
	if err := os.WriteFile(config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	const email = "owner@example.test"
	out, err := loomCommand(t, env, "server", "admin", "--config", config, "--org", "acme", "--email", email).Output()
	if err != nil || !strings.Contains(string(out), "/signin/") {
		t.Fatalf("loom server admin: %v, printed %q", err, out)
	}
	if err := loomCommand(t, env, "server", "admin", "--config", config, "--org", "second", "--email", "x@example.test").Run(); err == nil {
		t.Error("a second bootstrap was allowed")
	}
	url := startServer(t, append(slices.Clone(env), "LOOM_TEST_UPSTREAM_KEY="+upstreamKey), config)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer cancel()
	login := loomCommandContext(t, ctx, env, "login", url)
	stderr, _ := login.StderrPipe()
	var stdout strings.Builder
	login.Stdout = &stdout
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	code := ""
	for code == "" && lines.Scan() {
		if m := regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`).FindStringSubmatch(lines.Text()); m != nil {
			code = m[1]
		}
	}
	if code == "" {
		t.Fatalf("loom login printed no code")
	}
	go io.Copy(io.Discard, stderr)
	node := exec.CommandContext(ctx, "node", "approve.mjs")
	node.Dir = suite
	node.Env = append(env, "LOOM_SERVER="+url, "MAILPIT_API="+mp.API, "EMAIL="+email, "USER_CODE="+code)
	if b, err := node.CombinedOutput(); err != nil {
		t.Fatalf("the browser did not approve: %v\n%s", err, b)
	}
	if err := login.Wait(); err != nil || !strings.Contains(stdout.String(), "Signed in to "+url+" as "+email) {
		t.Fatalf("loom login: %v, printed %q", err, stdout.String())
	}
	who, err := loomCommand(t, env, "whoami").Output()
	if err != nil || strings.TrimSpace(string(who)) != email+" on "+url {
		t.Fatalf("loom whoami: %v, %q", err, who)
	}
	doctor, err := loomCommand(t, env, "doctor").Output()
	if err != nil || !strings.Contains(string(doctor), "model:        team-model  (from the team server signed in to (loom login))") || !strings.Contains(string(doctor), "source:       team server") {
		t.Fatalf("loom doctor: %v\n%s", err, doctor)
	}
	proj := project(t)
	run := loomCommand(t, env, "run", "--root", proj, "is there anything to change?")
	if out, err := run.CombinedOutput(); err != nil || !strings.Contains(string(out), "Nothing to change.") {
		t.Fatalf("loom run through the team server: %v\n%s", err, out)
	}
	reqs := upstream.Requests()
	if len(reqs) == 0 {
		t.Fatal("the upstream was never called")
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+upstreamKey {
			t.Errorf("the upstream got Authorization %q, want the server's key", got)
		}
		if r.Body != nil && r.Body.Model != "team-model" {
			t.Errorf("the upstream was asked for model %q", r.Body.Model)
		}
	}
	// The meter writes its records in the background, within moments.
	for i := 0; ; i++ {
		out, err := loomCommand(t, env, "usage", "--by", "model").CombinedOutput()
		if err == nil && strings.Contains(string(out), "team-model") {
			break
		}
		if i == 50 { // hang guard
			t.Fatalf("loom usage never counted the call: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := loomCommand(t, env, "logout").CombinedOutput(); err != nil {
		t.Fatalf("loom logout: %v\n%s", err, out)
	}
	if out, err := loomCommand(t, env, "whoami", url).CombinedOutput(); err == nil {
		t.Fatalf("whoami after logout: %s", out)
	}
}

// freePort returns a loopback port free a moment ago, for a server whose
// links must name its address before it starts.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
