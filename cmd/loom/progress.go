package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/loom-agent/loom/agent"
)

// isTerminal reports whether w is a terminal (a person watching); a
// character device such as /dev/null is not one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// isTerminalReader reports whether r is a terminal a person types into.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress renders agent events on stderr: live, coloured step lines on a
// terminal, plain parseable lines otherwise.
type progress struct {
	w      io.Writer
	tty    bool
	inText bool // a streamed reply is mid-line
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

// ANSI styles, used only on a terminal.
const (
	dim   = "\x1b[2m"
	green = "\x1b[32m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

func (p *progress) style(s, text string) string {
	if !p.tty {
		return text
	}
	return s + text + reset
}

func (p *progress) endText() {
	if p.inText {
		fmt.Fprintln(p.w)
		p.inText = false
	}
}

// handle prints one event.
func (p *progress) handle(ev agent.Event) {
	switch e := ev.(type) {
	case agent.TextDelta:
		if !p.inText && !p.tty {
			fmt.Fprint(p.w, "model: ")
		}
		fmt.Fprint(p.w, e.Text)
		p.inText = !strings.HasSuffix(e.Text, "\n")
	case agent.ToolStarted:
		p.endText()
		if p.tty {
			fmt.Fprintf(p.w, "%s %s %s\n", p.style(dim, "▸"), e.Name, p.style(dim, clip(e.Args, 100)))
		} else {
			fmt.Fprintf(p.w, "tool %s started %s\n", e.Name, clip(e.Args, 200))
		}
	case agent.ToolFinished:
		p.endText()
		status, mark := "ok", p.style(green, "✓")
		if e.Err != nil {
			status, mark = "error: "+clip(e.Err.Error(), 200), p.style(red, "✗")
		}
		changed := ""
		if len(e.Changed) > 0 {
			changed = " staged " + strings.Join(e.Changed, ", ")
		}
		if p.tty {
			fmt.Fprintf(p.w, "%s %s %s%s\n", mark, e.Name, p.style(dim, shortDuration(e.Duration)), changed)
			if e.Err != nil {
				fmt.Fprintf(p.w, "  %s\n", p.style(red, clip(e.Err.Error(), 200)))
			}
		} else {
			fmt.Fprintf(p.w, "tool %s %s in %s%s\n", e.Name, status, shortDuration(e.Duration), changed)
		}
	case agent.Retrying:
		p.endText()
		fmt.Fprintf(p.w, "%s\n", p.style(dim, fmt.Sprintf("model call failed (%v); retrying in %s (attempt %d)", e.Err, e.Delay.Round(1e6), e.Attempt)))
	case agent.TurnFinished:
		p.endText()
		if !p.tty {
			fmt.Fprintf(p.w, "turn %d done: %d tokens in, %d out\n", e.Turn, e.Usage.PromptTokens, e.Usage.CompletionTokens)
		}
	}
}

// shortDuration prints a step's time to the millisecond; a step faster
// than that reads "<1ms" rather than "0s".
func shortDuration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// clip shortens s to n bytes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
