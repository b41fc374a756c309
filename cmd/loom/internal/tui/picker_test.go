package tui

import (
	"testing"
	"time"

	"charm.land/bubbles/v2/list"
	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/thread"
)

// TestPickerTakesTheLastFilter: the list filters in a goroutine per key
// typed; matches that come back out of order (the first key's last) do not
// replace those of the text typed.
func TestPickerTakesTheLastFilter(t *testing.T) {
	items := []list.Item{
		threadItem{t: thread.Thread{ID: "t1", Title: "tell me about apples"}, short: "t1"},
		threadItem{t: thread.Thread{ID: "t2", Title: "tell me about pears"}, short: "t2"},
	}
	p := &picker{list: list.New(items, list.NewDefaultDelegate(), 80, pickerHeight)}
	var cmds []tea.Cmd
	for _, r := range "/apples" {
		cmds = append(cmds, p.update(tea.KeyPressMsg{Code: r, Text: string(r)}))
	}
	cmds = append(cmds, p.update(tea.KeyPressMsg{Code: tea.KeyEnter}))
	// What each key's commands gave, the filter's matches only (a cursor's
	// blink waits, and is left), delivered last key first.
	var matches []filterStep
	for _, c := range cmds {
		matches = append(matches, filterMatches(c)...)
	}
	if len(matches) < 2 {
		t.Fatalf("%d filter results, want one per letter", len(matches))
	}
	for i := len(matches) - 1; i >= 0; i-- {
		p.step(matches[i])
	}
	got := p.list.VisibleItems()
	if len(got) != 1 || got[0].(threadItem).t.ID != "t1" {
		t.Errorf("the filter %q shows %d threads, want only the apples one", p.list.FilterValue(), len(got))
	}
}

// filterMatches runs cmd and the commands it batches, each for at most
// 200 ms, and returns the filter matches they gave, tagged.
func filterMatches(cmd tea.Cmd) []filterStep {
	if cmd == nil {
		return nil
	}
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-got:
	case <-time.After(200 * time.Millisecond):
		return nil
	}
	s, ok := msg.(filterStep)
	if !ok {
		return nil
	}
	switch inner := s.msg.(type) {
	case tea.BatchMsg:
		var out []filterStep
		for _, c := range inner {
			out = append(out, filterMatches(tag(c, s.seq))...)
		}
		return out
	case list.FilterMatchesMsg:
		return []filterStep{s}
	}
	return nil
}
