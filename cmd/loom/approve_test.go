package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/loom-agent/loom/llm/llmtest"
)

// question ends every question the terminal prompt asks.
const question = "? [y]es / [n]o / [a]lways "

// shellScript makes the model run each command in a turn of its own, then
// finish.
func shellScript(commands ...string) llmtest.Script {
	var s llmtest.Script
	for i, c := range commands {
		args, _ := json.Marshal(map[string]string{"command": c})
		s.Turns = append(s.Turns, llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "c" + string(rune('1'+i)), Name: "shell", Arguments: args}}})
	}
	s.Turns = append(s.Turns, llmtest.Turn{Text: "All done."})
	return s
}

// toolReplies returns what the model read for each tool call, by call ID,
// in the last request the server saw.
func toolReplies(srv *llmtest.Server) map[string]string {
	reqs := srv.ChatRequests()
	m := map[string]string{}
	for _, msg := range reqs[len(reqs)-1].Messages {
		if msg.Role == "tool" {
			m[msg.ToolCallID] = msg.Content
		}
	}
	return m
}

// ptyProc is loom on a pseudo-terminal: a person at a terminal types its
// input and reads its output.
type ptyProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File // the terminal's master side
	mu     sync.Mutex
	out    bytes.Buffer
	copied chan struct{} // closed when the output has been read to its end
	exited chan error
}

func startPTY(t *testing.T, dir string, env []string, args ...string) *ptyProc {
	t.Helper()
	cmd := loomCommand(t, append(env, "TERM=xterm"), args...)
	cmd.Dir = dir
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyProc{t: t, cmd: cmd, tty: tty, copied: make(chan struct{}), exited: make(chan error, 1)}
	go func() {
		defer close(p.copied)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf) // EIO once loom has exited and its output is read
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		tty.Close()
	})
	return p
}

func (p *ptyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output holds s n times; the limit only keeps a
// broken prompt from hanging the test.
func (p *ptyProc) waitFor(s string, n int) {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(p.output(), s) < n; {
		if time.Now().After(deadline) {
			p.t.Fatalf("waited in vain for %q (%d times); the terminal shows:\n%s", s, n, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForText is waitFor on the text the terminal shows, escape
// sequences (styles, cursor) left out: for the TUI, which styles its text.
func (p *ptyProc) waitForText(s string, n int) {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(ansi.Strip(p.output()), s) < n; {
		if time.Now().After(deadline) {
			p.t.Fatalf("waited in vain for %q (%d times); the terminal shows:\n%s", s, n, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *ptyProc) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.tty, s); err != nil {
		p.t.Fatal(err)
	}
}

// wait returns loom's exit code once it has exited and its output is read.
func (p *ptyProc) wait() int {
	p.t.Helper()
	select {
	case err := <-p.exited:
		<-p.copied
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		p.t.Fatalf("loom did not exit; the terminal shows:\n%s", p.output())
		return -1
	}
}

// canonical reports whether the terminal is in line mode (the kernel
// echoes and edits the line) rather than a line editor's raw mode.
func (p *ptyProc) canonical() bool {
	p.t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatal(err)
	}
	return tio.Lflag&unix.ICANON != 0
}

// TestRunAsksOnTheTerminal: on a terminal, `loom run` asks before each
// command and runs it only on yes; "always" runs every later command
// without asking again; a no is what the model reads; an unclear answer
// is asked again.
func TestRunAsksOnTheTerminal(t *testing.T) {
	tests := []struct {
		name      string
		commands  []string
		answers   []string // one per question, in order
		wantRan   []bool   // per command: did it run
		wantRead  string   // what the model read for the first call
		wantAsked int
	}{
		{"no", []string{"touch m1"}, []string{"n"}, []bool{false}, "the user rejected this: \"touch m1\" was not run", 1},
		{"yes", []string{"touch m1"}, []string{"y"}, []bool{true}, "exit status 0", 1},
		{"yes, then no", []string{"touch m1", "touch m2"}, []string{"yes", "no"}, []bool{true, false}, "exit status 0", 2},
		{"always", []string{"touch m1", "touch m2"}, []string{"a"}, []bool{true, true}, "exit status 0", 1},
		{"unclear, then yes", []string{"touch m1"}, []string{"maybe", "y"}, []bool{true}, "exit status 0", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t, shellScript(tt.commands...))
			dir := project(t)
			p := startPTY(t, dir, modelEnv(t, srv), "run", "touch some markers")
			for i, a := range tt.answers {
				p.waitFor(question, i+1)
				p.send(a + "\r")
			}
			if code := p.wait(); code != 0 {
				t.Fatalf("exit code %d; the terminal shows:\n%s", code, p.output())
			}
			out := p.output()
			if !strings.Contains(out, `run "touch m1"`+question) {
				t.Errorf("no question about touch m1:\n%s", out)
			}
			if n := strings.Count(out, question); n != tt.wantAsked {
				t.Errorf("asked %d times, want %d:\n%s", n, tt.wantAsked, out)
			}
			for i, want := range tt.wantRan {
				name := "m" + string(rune('1'+i))
				if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
					t.Errorf("%s created: %v, want %v", name, err == nil, want)
				}
			}
			if read := toolReplies(srv)["c1"]; !strings.Contains(read, tt.wantRead) {
				t.Errorf("the model read %q, want %q", read, tt.wantRead)
			}
		})
	}
}

// TestReplAsksBetweenPrompts: the REPL on a terminal asks in its TUI and
// takes the answer as one key, which the person then sees after the
// question; "always" holds for the rest of the session; on leaving, the
// terminal is back in line mode.
func TestReplAsksBetweenPrompts(t *testing.T) {
	srv := llmtest.NewServer(t, shellScript("touch m1", "touch m2"))
	dir := project(t)
	p := startPTY(t, dir, modelEnv(t, srv), "repl")
	p.waitForText("Ask Loom", 1)
	p.send("touch two markers\r")
	p.waitForText(question, 1)
	p.send("a")
	p.waitForText("All done.", 1)
	p.send("/diff\r")
	p.waitForText("No staged edits.", 1)
	p.send("/quit\r")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal shows:\n%s", code, p.output())
	}
	screen := ansi.Strip(p.output())
	// The question stays in the scrollback with its answer after it.
	if n := strings.Count(screen, `run "touch m1"`+question+"always"); n != 1 {
		t.Errorf("the answer shows %d times after the question, want 1:\n%s", n, screen)
	}
	if strings.Contains(screen, `run "touch m2"`) {
		t.Errorf("asked about touch m2 after \"always\":\n%s", screen)
	}
	if !p.canonical() {
		t.Error("the terminal was left in raw mode")
	}
	for _, name := range []string{"m1", "m2"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestShellFlags: without a terminal the shell is not offered unless
// --shell=always or --allow-shell says so; contradictions and asking
// without a terminal are usage errors.
func TestShellFlags(t *testing.T) {
	tests := []struct {
		name      string
		flags     []string
		wantCode  int
		wantErr   string
		wantShell bool // offered to the model, and run
	}{
		{"default", nil, 0, "", false},
		{"never", []string{"--shell=never"}, 0, "", false},
		{"always", []string{"--shell=always"}, 0, "", true},
		{"allow-shell", []string{"--allow-shell"}, 0, "", true},
		{"allow-shell and always", []string{"--allow-shell", "--shell", "always"}, 0, "", true},
		{"ask without a terminal", []string{"--shell=ask"}, exitUsage, "needs a terminal", false},
		{"contradiction", []string{"--allow-shell", "--shell=never"}, exitUsage, "contradicts", false},
		{"unknown", []string{"--shell=sometimes"}, exitUsage, "want ask, always or never", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t, shellScript("touch m1"))
			dir := project(t)
			cmd := loomCommand(t, modelEnv(t, srv), append([]string{"run", "touch a marker"}, tt.flags...)...)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit code %d, want %d with %q:\n%s", code, tt.wantCode, tt.wantErr, stderr.String())
			}
			if strings.Contains(stderr.String(), question) {
				t.Errorf("asked without a terminal:\n%s", stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "m1")); (err == nil) != tt.wantShell {
				t.Errorf("the command ran: %v, want %v", err == nil, tt.wantShell)
			}
			if tt.wantCode != 0 {
				return
			}
			offered := false
			for _, tl := range srv.ChatRequests()[0].Tools {
				offered = offered || tl.Function.Name == "shell"
			}
			if offered != tt.wantShell {
				t.Errorf("shell offered: %v, want %v", offered, tt.wantShell)
			}
		})
	}
}

// TestCtrlCAtTheQuestion: Ctrl-C while Loom waits for an answer cancels
// the run; the command does not run and Loom does not hang.
func TestCtrlCAtTheQuestion(t *testing.T) {
	srv := llmtest.NewServer(t, shellScript("touch m1"))
	dir := project(t)
	p := startPTY(t, dir, modelEnv(t, srv), "run", "touch a marker")
	p.waitFor(question, 1)
	p.send("\x03")
	if code := p.wait(); code != exitCancelled {
		t.Fatalf("exit code %d, want %d; the terminal shows:\n%s", code, exitCancelled, p.output())
	}
	if _, err := os.Stat(filepath.Join(dir, "m1")); err == nil {
		t.Error("the command ran")
	}
}
