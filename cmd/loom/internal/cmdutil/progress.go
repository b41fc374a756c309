package cmdutil

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/loom-agent/loom/agent"
)

// Progress renders agent events: live, coloured step lines on a terminal,
// plain parseable lines otherwise.
type Progress struct {
	w      io.Writer
	tty    bool
	inText bool // a streamed reply is mid-line
	// reply is the text streamed since the last tool call: the final
	// answer, once the run ends, unless the provider did not stream it.
	reply strings.Builder
}

// Reply is the text the model streamed after its last tool call: a run
// whose final answer it is need not print the answer again.
func (p *Progress) Reply() string { return p.reply.String() }

// NewProgress renders to w, which is a terminal when tty is true.
func NewProgress(w io.Writer, tty bool) *Progress { return &Progress{w: w, tty: tty} }

// ANSI styles, used only on a terminal.
const (
	dim   = "\x1b[2m"
	green = "\x1b[32m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

func (p *Progress) style(s, text string) string {
	if !p.tty {
		return text
	}
	return s + text + reset
}

// EndText ends a streamed reply's line, if one is open.
func (p *Progress) EndText() {
	if p.inText {
		fmt.Fprintln(p.w)
		p.inText = false
	}
}

// Handle prints one event.
func (p *Progress) Handle(ev agent.Event) {
	switch e := ev.(type) {
	case agent.TextDelta:
		if !p.inText && !p.tty {
			fmt.Fprint(p.w, "model: ")
		}
		fmt.Fprint(p.w, e.Text)
		p.reply.WriteString(e.Text)
		p.inText = !strings.HasSuffix(e.Text, "\n")
	case agent.ToolStarted:
		p.EndText()
		p.reply.Reset()
		if p.tty {
			fmt.Fprintf(p.w, "%s %s %s\n", p.style(dim, "▸"), e.Name, p.style(dim, clip(e.Args, 100)))
		} else {
			fmt.Fprintf(p.w, "tool %s started %s\n", e.Name, clip(e.Args, 200))
		}
	case agent.ToolFinished:
		p.EndText()
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
	case agent.ToolProgress:
		p.EndText()
		fmt.Fprintf(p.w, "%s\n", p.style(dim, "tool "+e.Name+" progress "+progressText(e)))
	case agent.Retrying:
		p.EndText()
		fmt.Fprintf(p.w, "%s\n", p.style(dim, e.Message()))
	case agent.TurnFinished:
		p.EndText()
		switch {
		case p.tty:
		case e.Usage.PromptTokens == 0: // no call reads no prompt: the server did not say
			fmt.Fprintf(p.w, "turn %d done: tokens unknown\n", e.Turn)
		default:
			fmt.Fprintf(p.w, "turn %d done: %d tokens in, %d out\n", e.Turn, e.Usage.PromptTokens, e.Usage.CompletionTokens)
		}
	}
}

// progressText says how far a call has got: "3/5 copying", "3", "copying".
func progressText(e agent.ToolProgress) string {
	n := strconv.FormatFloat(e.Progress, 'f', -1, 64)
	if e.Total > 0 {
		n += "/" + strconv.FormatFloat(e.Total, 'f', -1, 64)
	}
	return strings.TrimSpace(n + " " + clip(e.Message, 100))
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
