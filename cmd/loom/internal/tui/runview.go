package tui

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/colorprofile"

	"github.com/loom-agent/loom/session"
)

// RunView renders a one-shot run (`loom run` on a terminal) as the REPL
// prints it: a line while the model is awaited, tool steps as one line
// each, the answer as markdown once complete, text from outside without
// its escape sequences, colours brought down to the terminal's profile
// (none under NO_COLOR).
type RunView struct {
	w       io.Writer
	width   int
	text    strings.Builder
	waiting bool // the waiting line is on screen, to be cleared
}

// NewRunView renders to w, a terminal width columns wide whose colours
// are profile.
func NewRunView(w io.Writer, profile colorprofile.Profile, width int) *RunView {
	if width <= 0 {
		width = 80
	}
	return &RunView{w: &colorprofile.Writer{Forward: w, Profile: profile}, width: width}
}

// Start shows that the model is being waited for.
func (v *RunView) Start() {
	fmt.Fprint(v.w, dimStyle.Render("waiting for the model… (Ctrl-C stops)"))
	v.waiting = true
}

func (v *RunView) line(s string) {
	if v.waiting {
		fmt.Fprint(v.w, "\r\x1b[K")
		v.waiting = false
	}
	fmt.Fprintln(v.w, s)
}

// Handle shows one event of the run.
func (v *RunView) Handle(ev session.Event) {
	switch e := ev.(type) {
	case session.TextDelta:
		v.text.WriteString(plain(e.Text))
	case session.ToolStarted:
		v.flush()
		v.line(dimStyle.Render("▸ " + plain(e.Name) + " " + oneLine(e.Args, 100)))
	case session.ToolFinished:
		mark := okStyle.Render("✓")
		if e.Err != nil {
			mark = errorStyle.Render("✗ " + oneLine(e.Err.Error(), 200))
		}
		changed := ""
		if len(e.Changed) > 0 {
			changed = " staged " + strings.Join(e.Changed, ", ")
		}
		v.line(fmt.Sprintf("%s %s%s", mark, plain(e.Name), plain(changed)))
	case session.Retrying:
		v.text.Reset()
		v.line(dimStyle.Render(e.Message()))
	case session.TurnFinished:
		v.flush()
	}
}

// End prints what is left of the answer.
func (v *RunView) End() {
	v.flush()
	if v.waiting {
		fmt.Fprint(v.w, "\r\x1b[K")
		v.waiting = false
	}
}

func (v *RunView) flush() {
	if t := strings.TrimSpace(v.text.String()); t != "" {
		v.line(markdown(t, v.width))
	}
	v.text.Reset()
}

// ColourDiff is a unified diff coloured line by line, for a terminal; its
// text from outside is printed without escape sequences.
func ColourDiff(diff string, profile colorprofile.Profile) string {
	var b strings.Builder
	w := &colorprofile.Writer{Forward: &b, Profile: profile}
	fmt.Fprintln(w, colourDiff(plain(diff)))
	return b.String()
}
