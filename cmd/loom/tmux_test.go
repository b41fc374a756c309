package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// tmuxPane is the REPL running in a real terminal: a pane of a tmux
// server of the test's own, 120 columns by 40 lines, driven by send-keys
// and read by capture-pane.
type tmuxPane struct {
	t    *testing.T
	sock string
}

// startTmux starts the binary (as loomCommand would, with env) in a
// detached tmux session in dir.
func startTmux(t *testing.T, dir string, env []string, args ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed (test/install.sh installs it)")
	}
	cmd := loomCommand(t, env, args...)
	p := &tmuxPane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	// env -i: the pane's process gets exactly the private environment, not
	// the tmux server's.
	argv := append([]string{"new-session", "-d", "-x", "120", "-y", "40", "-s", "loom", "-c", dir, "env", "-i"}, cmd.Env...)
	p.tmux(append(argv, cmd.Path)...)
	p.tmux("set-option", "-t", "loom", "history-limit", "5000")
	t.Cleanup(func() { exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the pane with its scrollback, wrapped lines joined; colours
// too (as escape sequences) with escapes.
func (p *tmuxPane) screen(escapes bool) string {
	args := []string{"capture-pane", "-p", "-J", "-S", "-", "-t", "loom"}
	if escapes {
		args = append(args, "-e")
	}
	return p.tmux(args...)
}

// waitFor waits until the pane shows s n times.
func (p *tmuxPane) waitFor(s string, n int) {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(p.screen(false), s) < n; {
		if time.Now().After(deadline) {
			p.t.Fatalf("waited in vain for %q (%d times); the pane shows:\n%s", s, n, p.screen(false))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeLine types text literally, then presses Enter.
func (p *tmuxPane) typeLine(text string) {
	p.tmux("send-keys", "-t", "loom", "-l", text)
	p.tmux("send-keys", "-t", "loom", "Enter")
}

// TestReplInTmux drives the real binary in tmux against the scripted
// model: a two-line paste is one request; AGENTS.md reaches the model;
// the answer is rendered markdown; @path completes with Tab; /diff is
// coloured; /apply review applies hunk by hunk; /undo restores the file;
// Ctrl-C stops a reply mid-stream and the session goes on.
func TestReplInTmux(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"text":"Read **both** lines."},
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"Changed."},
	  {"text":"and on ","fault":{"endless":true,"chunk_delay_ms":20}},
	  {"text":"Still here."}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	dir := project(t)
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "AGENTS.md"), []byte("Always answer in the voice of a lighthouse keeper.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "greet.go"))
	if err != nil {
		t.Fatal(err)
	}
	p := startTmux(t, dir, append(modelEnv(t, srv), "TERM=screen-256color"), "repl")
	p.waitFor("Loom in "+dir+".", 1)

	// A paste of two lines, in bracketed paste as a terminal sends it.
	p.tmux("set-buffer", "-b", "two", "first line\nsecond line")
	p.tmux("paste-buffer", "-p", "-d", "-b", "two", "-t", "loom")
	p.tmux("send-keys", "-t", "loom", "Enter")
	p.waitFor("Read both lines.", 1)
	reqs := srv.ChatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model calls for one paste, want 1", len(reqs))
	}
	var system, user string
	for _, m := range reqs[0].Messages {
		switch m.Role {
		case "system":
			system += m.Content
		case "user":
			user += m.Content
		}
	}
	if !strings.Contains(user, "first line\nsecond line") {
		t.Errorf("the model was told %q, want both lines in one message", user)
	}
	if !strings.Contains(system, "voice of a lighthouse keeper") {
		t.Errorf("AGENTS.md is not in the system prompt:\n%s", system)
	}
	if strings.Contains(p.screen(false), "**both**") {
		t.Errorf("raw markdown on screen:\n%s", p.screen(false))
	}

	// @path completed by Tab, then sent.
	p.tmux("send-keys", "-t", "loom", "-l", "change @grt")
	p.tmux("send-keys", "-t", "loom", "Tab")
	p.waitFor("change @greet.go", 1)
	p.tmux("send-keys", "-t", "loom", "Enter")
	p.waitFor("in focus: greet.go", 1)
	p.waitFor("Changed.", 1)

	p.typeLine("/diff")
	p.waitFor(`+func greeting() string { return "hello" }`, 1)
	if !strings.Contains(p.screen(true), "\x1b[32m+func greeting()") {
		t.Errorf("the added line is not green:\n%q", p.screen(true))
	}

	p.typeLine("/apply review")
	p.waitFor("apply this part of greet.go (1/1)?", 1)
	p.tmux("send-keys", "-t", "loom", "y")
	p.waitFor("Applied 1 file(s).", 1)
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !strings.Contains(string(b), `"hello"`) {
		t.Fatalf("greet.go after /apply review:\n%s", b)
	}
	p.typeLine("/undo")
	p.waitFor("Undid the last apply", 1)
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); string(b) != string(before) {
		t.Errorf("greet.go after /undo:\n%s", b)
	}

	p.typeLine("keep talking")
	p.waitFor("and on and on", 1)
	p.tmux("send-keys", "-t", "loom", "C-c")
	p.waitFor("Stopped.", 1)
	p.typeLine("are you there?")
	p.waitFor("Still here.", 1)
	if n := len(srv.ChatRequests()); n != 5 {
		t.Errorf("%d model calls, want 5", n)
	}
}
