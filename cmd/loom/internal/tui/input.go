package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// maxCompletions bounds the candidates Tab shows.
const maxCompletions = 8

// complete completes the word at the end of the input: a slash command,
// or an @path among the workspace's files (fuzzily: "@mdl" finds
// "internal/model.go"). A second Tab goes to the next candidate.
func (m *Model) complete() {
	value := m.input.Value()
	start := strings.LastIndexAny(value, " \n\t") + 1
	word := value[start:]
	if i := indexOf(m.completions, word); i >= 0 {
		// Tab again: the next candidate.
		m.input.SetValue(value[:start] + m.completions[(i+1)%len(m.completions)])
		return
	}
	var cands []string
	switch {
	case strings.HasPrefix(word, "@"):
		if m.files == nil {
			m.files = m.conv.Files(m.ctx)
		}
		for _, f := range CompleteMention(m.files, word[1:], maxCompletions) {
			cands = append(cands, "@"+f)
		}
	case strings.HasPrefix(word, "/") && start == 0:
		for _, c := range Commands {
			if strings.HasPrefix(c.Name, word) {
				cands = append(cands, c.Name)
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	m.input.SetValue(value[:start] + cands[0])
	if len(cands) > 1 {
		m.completions = cands
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// edit opens the input in the user's editor ($VISUAL, else $EDITOR, else
// vi) in a private temporary file; what it holds when the editor exits
// becomes the input.
func (m *Model) edit() tea.Cmd {
	editor := strings.Fields(os.Getenv("VISUAL"))
	if len(editor) == 0 {
		editor = strings.Fields(os.Getenv("EDITOR"))
	}
	if len(editor) == 0 {
		editor = []string{"vi"}
	}
	f, err := os.CreateTemp("", "loom-input-*.md") // 0600
	if err == nil {
		_, err = f.WriteString(m.input.Value())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		m.print(errorStyle.Render("Cannot open an editor: " + err.Error()))
		if f != nil {
			os.Remove(f.Name())
		}
		return nil
	}
	cmd := exec.CommandContext(m.ctx, editor[0], append(editor[1:], f.Name())...)
	return tea.ExecProcess(cmd, func(err error) tea.Msg { return editedMsg{path: f.Name(), err: err} })
}

// edited takes the input back from the editor and removes its file.
func (m *Model) edited(msg editedMsg) {
	defer os.Remove(msg.path)
	if msg.err != nil {
		if errors.Is(msg.err, context.Canceled) {
			return
		}
		m.print(errorStyle.Render(fmt.Sprintf("The editor failed (%v); the input is as it was.", msg.err)))
		return
	}
	b, err := os.ReadFile(msg.path)
	switch {
	case err != nil:
		m.print(errorStyle.Render("Reading what the editor wrote: " + err.Error()))
	case len(b) > maxInput:
		m.print(errorStyle.Render(fmt.Sprintf("The edited text is over %d bytes; the input is as it was.", maxInput)))
	default:
		m.input.SetValue(strings.TrimRight(string(b), "\n"))
	}
}
