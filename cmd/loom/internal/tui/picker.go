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
type picker struct{ list list.Model }

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
	var cmd tea.Cmd
	m.picker.list, cmd = m.picker.list.Update(k)
	return cmd
}
