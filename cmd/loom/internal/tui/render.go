package tui

import (
	"regexp"
	"strings"
	"sync"
	"unicode"

	"charm.land/glamour/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// styles of what the TUI prints; the program drops colours the terminal
// does not have (none under NO_COLOR).
var (
	dimStyle     = lipgloss.NewStyle().Faint(true)
	addedStyle   = lipgloss.NewStyle().Foreground(lipgloss.Green)
	removedStyle = lipgloss.NewStyle().Foreground(lipgloss.Red)
	hunkStyle    = lipgloss.NewStyle().Foreground(lipgloss.Cyan)
	headerStyle  = lipgloss.NewStyle().Bold(true)
	errorStyle   = lipgloss.NewStyle().Foreground(lipgloss.Red)
	okStyle      = lipgloss.NewStyle().Foreground(lipgloss.Green)
	promptStyle  = lipgloss.NewStyle().Foreground(lipgloss.Magenta).Bold(true)
)

// plain is text from outside (the model, a tool, a file in a diff) made
// safe to print: escape sequences and control characters other than
// newline and tab are dropped, so that it cannot set the window title,
// write the clipboard, move the cursor or restyle what follows.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, ansi.Strip(s))
}

// markdown renders a complete answer for a terminal width columns wide;
// the text as it is when it cannot.
func markdown(text string, width int) string {
	r, err := renderer(width)
	if err != nil {
		return text
	}
	out, err := r.Render(text)
	if err != nil {
		return text
	}
	lines := strings.Split(strings.Trim(out, "\n"), "\n")
	for i, l := range lines {
		lines[i] = padding().ReplaceAllString(l, "\x1b[m")
	}
	return strings.Join(lines, "\n")
}

// renderers are glamour's renderers by wrap width: making one (its
// styles, its parser) costs most of rendering a short answer.
var (
	renderersMu sync.Mutex
	renderers   = map[int]*glamour.TermRenderer{}
)

// renderer is the renderer for a terminal width columns wide. Renders
// are serialised: a renderer is not safe for concurrent use.
func renderer(width int) (*lockedRenderer, error) {
	w := max(width-4, 20)
	renderersMu.Lock()
	defer renderersMu.Unlock()
	r, ok := renderers[w]
	if !ok {
		var err error
		if r, err = glamour.NewTermRenderer(glamour.WithStandardStyle("dark"), glamour.WithWordWrap(w)); err != nil {
			return nil, err
		}
		if len(renderers) >= 8 { // widths seen as a window is resized
			clear(renderers)
		}
		renderers[w] = r
	}
	return &lockedRenderer{r}, nil
}

type lockedRenderer struct{ r *glamour.TermRenderer }

func (l *lockedRenderer) Render(text string) (string, error) {
	renderersMu.Lock()
	defer renderersMu.Unlock()
	return l.r.Render(text)
}

// padding is the run of styled spaces glamour fills each line with up to
// the wrap width: it would make every line of the scrollback as wide as
// the terminal was.
var padding = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:\x1b\[[0-9;]*m| )+$`) })

// colourDiff colours a unified diff line by line.
func colourDiff(diff string) string {
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "diff "):
			lines[i] = headerStyle.Render(l)
		case strings.HasPrefix(l, "+"):
			lines[i] = addedStyle.Render(l)
		case strings.HasPrefix(l, "-"):
			lines[i] = removedStyle.Render(l)
		case strings.HasPrefix(l, "@@"):
			lines[i] = hunkStyle.Render(l)
		}
	}
	return strings.Join(lines, "\n")
}
