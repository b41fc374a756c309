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
	"strings"
	"testing"
	"time"

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
// `loom whoami` then names the owner, and after `loom logout` the server
// refuses the token.
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
	cfg, _ := json.Marshal(map[string]any{
		"listen":   "127.0.0.1:" + port,
		"database": filepath.Join(dir, "server.db"),
		"smtp":     map[string]any{"addr": mp.SMTP, "from": "Loom <loom@example.test>"},
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
	url := startServer(t, env, config)

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
