package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/loom-agent/loom/llm/llmtest"
)

// TestReplOnTerminal drives the REPL's TUI on a pseudo-terminal, started
// from a subfolder of a repository: the workspace is the repository; a
// bracketed paste of two lines and Enter is one instruction and one model
// call; the answer is printed as rendered markdown; Ctrl-C stops a reply
// mid-stream and the session goes on; /quit leaves the terminal in line
// mode.
func TestReplOnTerminal(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"turns":[
	  {"text":"Read **both** lines."},
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
	sub := filepath.Join(dir, "sub", "deeper")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startPTY(t, sub, modelEnv(t, srv), "repl")
	p.waitForText("Loom in "+dir+".", 1)
	p.send("\x1b[200~first line\rsecond line\x1b[201~")
	p.send("\r")
	p.waitForText("Read both lines.", 1)
	if n := len(srv.ChatRequests()); n != 1 {
		t.Fatalf("%d model calls for one paste, want 1", n)
	}
	var told []string
	for _, m := range srv.ChatRequests()[0].Messages {
		if m.Role == "user" {
			told = append(told, m.Content)
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "first line\nsecond line") {
		t.Errorf("the model was told %q, want one message with both lines", told)
	}

	p.send("keep talking\r")
	p.waitForText("and on and on", 1)
	p.send("\x03")
	p.waitForText("Stopped.", 1)
	p.send("are you there?\r")
	p.waitForText("Still here.", 1)
	p.send("/quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal shows:\n%s", code, p.output())
	}
	if !p.canonical() {
		t.Error("the terminal was left in raw mode")
	}
	if n := len(srv.ChatRequests()); n != 3 {
		t.Errorf("%d model calls, want 3", n)
	}
	if screen := ansi.Strip(p.output()); strings.Contains(screen, "Loom in "+sub) {
		t.Errorf("the workspace is the subfolder:\n%s", screen)
	}
}

// TestReplWorkspaceIsRepository: without a terminal too, the REPL started
// in a subfolder works in the repository around it, unless --root says
// otherwise; outside any repository the folder itself is the workspace.
func TestReplWorkspaceIsRepository(t *testing.T) {
	srv := llmtest.NewServer(t, llmtest.Script{})
	repo := project(t)
	if err := os.WriteFile(filepath.Join(repo, ".git"), []byte("gitdir: elsewhere\n"), 0o644); err != nil {
		t.Fatal(err) // a worktree's .git is a file
	}
	sub := filepath.Join(repo, "sub")
	plain := filepath.Join(t.TempDir(), "plain")
	for _, d := range []string{sub, plain} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, dir string
		args      []string
		want      string
	}{
		{"subfolder", sub, nil, repo},
		{"root flag", sub, []string{"--root", "."}, sub},
		{"no repository", plain, nil, plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := loomCommand(t, modelEnv(t, srv), append([]string{"repl"}, tt.args...)...)
			cmd.Dir, cmd.Stdin = tt.dir, strings.NewReader("/quit\n")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("loom repl: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Loom in "+tt.want+".") {
				t.Errorf("want the workspace %s:\n%s", tt.want, out)
			}
		})
	}
}
