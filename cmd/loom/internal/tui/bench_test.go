package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/session"
)

// answer is a model answer of a usual shape: prose, a list, code.
const answer = "The parser reads **tokens** one at a time:\n\n- `next` advances\n- `peek` looks ahead\n\n```go\nfunc (p *parser) next() token { p.pos++; return p.toks[p.pos] }\n```\n"

// BenchmarkKeystroke is one key typed into the input (Update and View)
// once the session has shown messages: the rendered history is printed
// into the terminal's scrollback, never kept in the view, so a keystroke
// costs the same after 2,000 messages as after none. The goal: well under
// the 16 ms of a frame.
func BenchmarkKeystroke(b *testing.B) {
	for _, messages := range []int{0, 2000} {
		b.Run(fmt.Sprintf("messages=%d", messages), func(b *testing.B) {
			m := benchModel(b)
			for i := range messages {
				// One instruction and its answer per two messages, as a
				// session goes: the echo, the streamed answer, its end.
				if i%2 == 0 {
					m.input.SetValue(fmt.Sprintf("question %d", i))
					m.print(promptStyle.Render("› ") + m.input.Value())
					m.input.Reset()
					continue
				}
				m.running, m.cancel = true, func() {}
				m.Update(eventMsg{session.TextDelta{Text: answer}})
				m.Update(runDoneMsg{})
				for m.printing {
					m.Update(printedMsg{})
				}
			}
			if messages > 0 && m.printing {
				b.Fatal("the history is still being printed")
			}
			key := tea.KeyPressMsg{Code: 'a', Text: "a"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%200 == 0 {
					m.input.Reset() // a line typed, sent, the next begun
				}
				m.Update(key)
				_ = m.View()
			}
		})
	}
}

// BenchmarkMarkdown is rendering one answer as it is printed when
// complete: paid once per answer, not per keystroke.
func BenchmarkMarkdown(b *testing.B) {
	for range b.N {
		markdown(answer, 100)
	}
}

func benchModel(b *testing.B) *Model {
	b.Helper()
	f := cmdtest.New(b, "http://127.0.0.1:1") // no model is called
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	ws, err := f.Workspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	ag, err := f.Agent(cmdutil.AgentFlags{MaxTurns: agent.DefaultMaxTurns}, ws)
	if err != nil {
		b.Fatal(err)
	}
	m := New(NewConversation(ws, ag, cmdtest.Model, nil, &session.Service{}), Options{})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return m
}
