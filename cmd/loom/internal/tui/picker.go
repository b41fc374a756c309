package tui

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/list"
	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/thread"
)

// picker is /resume without an ID: this workspace's threads in a list
// that / filters; Enter continues the one selected, Esc closes it.
type picker struct {
	list list.Model
	seq  int // changes of the filter's text
}

// filterStep is what a command of the picker's list gave, tagged with the
// number of the filter's text it was started for.
type filterStep struct {
	seq int
	msg tea.Msg
}

// tag marks what cmd gives with seq.
func tag(cmd tea.Cmd, seq int) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg { return filterStep{seq: seq, msg: cmd()} }
}

// step hands the list what one of its commands gave. The list filters in
// a goroutine per key typed and takes the matches in the order they come,
// so on a busy machine an earlier text's matches ("ap") could replace the
// last one's ("apples"): only the matches for the text shown are taken.
func (p *picker) step(s filterStep) tea.Cmd {
	switch msg := s.msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		cmds := make([]tea.Cmd, len(msg))
		for i, c := range msg {
			cmds[i] = tag(c, s.seq)
		}
		return tea.Batch(cmds...)
	case list.FilterMatchesMsg:
		if s.seq != p.seq {
			return nil
		}
	}
	var cmd tea.Cmd
	p.list, cmd = p.list.Update(s.msg)
	return tag(cmd, s.seq)
}

// threadItem is one thread in the picker.
type threadItem struct {
	t     thread.Thread
	short string // the ID as lists show it
}

func (i threadItem) Title() string { return plain(i.t.Title) }
func (i threadItem) Description() string {
	return fmt.Sprintf("%s · %s · %s · %d turn(s)", i.short, i.t.Updated.Local().Format("2006-01-02 15:04"), i.t.Status, i.t.TurnCount)
}
func (i threadItem) FilterValue() string { return i.t.Title + " " + i.t.ID }

// pickerHeight is the lines the picker takes below the scrollback.
const pickerHeight = 14

// openPicker lists the workspace's threads, or says why there are none.
func (m *Model) openPicker() {
	ts, err := m.conv.Threads(context.Background())
	switch {
	case err != nil:
		m.print(errorStyle.Render("Error: " + err.Error()))
		return
	case len(ts) == 0:
		m.print("No threads in this workspace yet.")
		return
	}
	items := make([]list.Item, len(ts))
	short := m.conv.ShortIDs(ts)
	for i, t := range ts {
		items[i] = threadItem{t, short(t.ID)}
	}
	l := list.New(items, list.NewDefaultDelegate(), m.width, pickerHeight)
	l.Title = "Resume a thread (/ filters, Enter continues, Esc closes)"
	l.SetShowHelp(false)
	l.SetStatusBarItemName("thread", "threads")
	l.DisableQuitKeybindings()
	m.picker = &picker{list: l}
}

// pick handles a key while the picker is open.
func (m *Model) pick(k tea.KeyPressMsg) tea.Cmd {
	filtering := m.picker.list.SettingFilter()
	switch k.String() {
	case "ctrl+c":
		m.picker = nil
		return nil
	case "esc":
		if !filtering && !m.picker.list.IsFiltered() {
			m.picker = nil
			return nil
		}
	case "enter":
		if !filtering {
			if it, ok := m.picker.list.SelectedItem().(threadItem); ok {
				m.picker = nil
				return m.runCommand("/resume " + it.t.ID)
			}
			return nil
		}
	}
	return m.picker.update(k)
}

// update hands the list a key.
func (p *picker) update(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	before := p.list.FilterValue()
	p.list, cmd = p.list.Update(k)
	if p.list.FilterValue() != before {
		p.seq++ // the matches for before are stale
	}
	return tag(cmd, p.seq)
}
