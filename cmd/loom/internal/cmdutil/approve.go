package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
)

// The values of --shell.
const (
	ShellAsk    = "ask"
	ShellAlways = "always"
	ShellNever  = "never"
)

// Approver is the approver of `loom run` and the REPL from --shell and
// --allow-shell: a prompt on the terminal (ask, the default when stdin and
// stderr are one), every command (always, or --allow-shell), or none
// (never, the default otherwise: commands are not offered).
func Approver(ios *iostreams.IOStreams, f AgentFlags) (tools.Approver, error) {
	mode := f.Shell
	switch {
	case f.AllowShell && mode != "" && mode != ShellAlways:
		return nil, &UsageError{fmt.Errorf("--allow-shell is --shell=%s; it contradicts --shell=%s", ShellAlways, mode)}
	case f.AllowShell:
		mode = ShellAlways
	}
	prompt := newTerminalApprover(ios)
	switch mode {
	case "":
		if prompt == nil {
			return nil, nil
		}
		return prompt, nil
	case ShellAsk:
		if prompt == nil {
			return nil, &UsageError{errors.New("--shell=ask needs a terminal to ask on (stdin and stderr); use --shell=always or --shell=never")}
		}
		return prompt, nil
	case ShellAlways:
		return tools.AlwaysApprove, nil
	case ShellNever:
		return nil, nil
	}
	return nil, &UsageError{fmt.Errorf("--shell %s: want %s, %s or %s", strconv.Quote(mode), ShellAsk, ShellAlways, ShellNever)}
}

// terminalApprover asks the person at the terminal before each command
// runs: `run "go test ./..."? [y]es / [n]o / [a]lways`. "always" allows
// every later call of that tool for as long as the approver lives (a run,
// a REPL session).
type terminalApprover struct {
	in  *os.File  // the terminal the answer is typed on
	out io.Writer // the terminal the question is written to
	// cooked is the terminal's mode when Loom started: answers are read
	// in it (the kernel echoes and edits the line), whatever mode a line
	// editor left the terminal in between its prompts.
	cooked *term.State

	mu     sync.Mutex // one question at a time
	always map[string]bool
}

// newTerminalApprover returns a prompt on the streams' terminal, or nil
// when stdin or stderr is not a terminal (a pipe, a file, /dev/null). Call
// it before a line editor changes the terminal's mode.
func newTerminalApprover(ios *iostreams.IOStreams) *terminalApprover {
	in, out, ok := ios.TerminalFiles()
	if !ok {
		return nil
	}
	cooked, err := term.GetState(int(in.Fd()))
	if err != nil {
		return nil
	}
	return &terminalApprover{in: in, out: out, cooked: cooked, always: map[string]bool{}}
}

// maxAnswer bounds the answer line kept; the rest of a longer line is read
// and dropped.
const maxAnswer = 64

func (t *terminalApprover) Approve(ctx context.Context, a tools.Approval) (tools.Decision, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.always[a.Name] {
		return tools.Allow, nil
	}
	question := ApprovalQuestion(a)
	// The terminal is in its own line mode before the question shows, so
	// that whoever sees the question can type the answer and see it.
	defer t.cook()()
	for {
		fmt.Fprint(t.out, question)
		answer, err := t.readLine(ctx)
		if err != nil {
			fmt.Fprintln(t.out)
			if errors.Is(err, io.EOF) { // Ctrl-D: no
				return tools.Deny, nil
			}
			return tools.Deny, err
		}
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
			return tools.Allow, nil
		case "n", "no":
			return tools.Deny, nil
		case "a", "always":
			t.always[a.Name] = true
			return tools.Allow, nil
		}
		fmt.Fprintln(t.out, "Please answer y (run it), n (do not) or a (run it and every later one).")
	}
}

// ApprovalQuestion is what a person is asked before a call runs:
// `run "go test ./..."? [y]es / [n]o / [a]lways `. The preview is quoted: a
// command line may hold newlines or escape sequences that would make it
// look like another on the terminal.
func ApprovalQuestion(a tools.Approval) string {
	if a.Spec.Effect != tools.EffectExecute {
		return fmt.Sprintf("%s %s? [y]es / [n]o / [a]lways ", a.Name, strconv.Quote(a.Preview))
	}
	return fmt.Sprintf("run %s? [y]es / [n]o / [a]lways ", strconv.Quote(a.Preview))
}

// AsksOnTerminal reports whether a is the terminal prompt of --shell=ask,
// which a full-screen front end replaces with questions of its own.
func AsksOnTerminal(a tools.Approver) bool {
	_, ok := a.(*terminalApprover)
	return ok
}

// cook puts the terminal in the mode it had when Loom started (the kernel
// echoes and edits the line) and returns what puts back the mode a line
// editor left it in.
func (t *terminalApprover) cook() (restore func()) {
	fd := int(t.in.Fd())
	if cur, err := term.GetState(fd); err == nil {
		if err := term.Restore(fd, t.cooked); err == nil {
			return func() { term.Restore(fd, cur) }
		}
	}
	return func() {}
}

// readLine reads one line from the terminal, giving up when ctx ends
// (Ctrl-C cancels the run): the read waits in poll, never in a read that
// nothing could interrupt.
func (t *terminalApprover) readLine(ctx context.Context) (string, error) {
	fd := int(t.in.Fd())
	var line []byte
	buf := make([]byte, 256)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		// A short timeout, so that the end of ctx is seen soon.
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 100)
		switch {
		case errors.Is(err, unix.EINTR) || err == nil && n == 0:
			continue
		case err != nil:
			return "", err
		}
		// Readable: in cooked mode a read returns at most one line.
		n, err = t.in.Read(buf)
		if n == 0 || err != nil {
			if err == nil {
				err = io.EOF
			}
			return "", err
		}
		if len(line) < maxAnswer {
			line = append(line, buf[:min(n, maxAnswer-len(line))]...)
		}
		if buf[n-1] == '\n' {
			return strings.TrimSuffix(string(line), "\n"), nil
		}
	}
}
