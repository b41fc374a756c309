package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/thread"
)

// threadsOf lists the threads the conversation's database holds.
func (r *repl) threadsOf() []thread.Thread {
	r.t.Helper()
	ts, err := r.conv.Threads(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return ts
}

// TestClearThreadsAndPicker: /clear makes the next instruction a new
// thread; /threads lists both; /resume alone opens a picker that a filter
// narrows and Enter continues the one chosen, whose history the model
// then reads.
func TestClearThreadsAndPicker(t *testing.T) {
	r := startWith(t, setup{db: filepath.Join(t.TempDir(), "threads.db"), script: `{"turns":[
	  {"text":"About apples."},
	  {"text":"About pears."},
	  {"text":"Back on apples."}
	]}`})
	r.send("tell me about apples")
	r.waitFor("About apples.", 1)
	r.send("/clear")
	r.waitFor("Cleared: the next instruction starts a new thread.", 1)
	r.send("tell me about pears")
	r.waitFor("About pears.", 1)
	ts := r.threadsOf()
	if len(ts) != 2 {
		t.Fatalf("%d threads after /clear, want 2", len(ts))
	}
	r.send("/threads")
	r.waitFor("done      tell me about apples", 1)
	r.waitFor("* "+ts[0].ID[:thread.MinShortID], 1) // the current thread, marked, its ID short
	r.send("/resume")
	r.waitFor("Resume a thread", 1)
	r.tm.Type("/apples")
	r.key(enter) // the filter is set
	r.waitFor("1 filtered", 1)
	r.key(enter) // the thread chosen
	r.waitFor("Continuing thread "+ts[1].ID, 1)
	r.send("and more?")
	r.waitFor("Back on apples.", 1)
	told := strings.Join(r.userMessages(), "|")
	if !strings.Contains(told, "tell me about apples") || strings.Contains(told, "pears") {
		t.Errorf("after resuming the apples thread the model was told %q", told)
	}
}

// TestPickerEscape: Esc closes the picker and the input comes back.
func TestPickerEscape(t *testing.T) {
	r := startWith(t, setup{db: filepath.Join(t.TempDir(), "threads.db"), script: `{"turns":[{"text":"One."},{"text":"Two."}]}`})
	r.send("first")
	r.waitFor("One.", 1)
	r.send("/resume")
	r.waitFor("Resume a thread", 1)
	r.key(tea.KeyPressMsg{Code: tea.KeyEscape})
	r.send("second")
	r.waitFor("Two.", 1)
	if n := len(r.threadsOf()); n != 1 {
		t.Errorf("%d threads, want the one continued", n)
	}
}

// TestCompact: /compact has the model summarise, and the next instruction
// starts a new thread that carries the summary instead of the history.
func TestCompact(t *testing.T) {
	r := startWith(t, setup{db: filepath.Join(t.TempDir(), "threads.db"), script: `{"turns":[
	  {"text":"A long answer about the parser."},
	  {"text":"SUMMARY: we discussed the parser."},
	  {"text":"Continuing from the summary."}
	]}`})
	r.send("explain the parser")
	r.waitFor("A long answer about the parser.", 1)
	r.send("/compact")
	r.waitFor("into a summary; the next instruction starts a new thread with it.", 1)
	r.send("what next?")
	r.waitFor("Continuing from the summary.", 1)
	reqs := r.srv.ChatRequests()
	last := reqs[len(reqs)-1]
	var told []string
	for _, m := range last.Messages {
		if m.Role != "system" {
			told = append(told, m.Role+": "+m.Content)
		}
	}
	if len(told) != 1 || !strings.Contains(told[0], "SUMMARY: we discussed the parser.") || !strings.Contains(told[0], "what next?") {
		t.Errorf("after /compact the model read %q, want one message: the summary and the instruction", told)
	}
	ts := r.threadsOf()
	if len(ts) != 2 {
		t.Fatalf("%d threads, want the compacted one and its successor", len(ts))
	}
	md, err := r.conv.runs.ThreadMarkdown(context.Background(), ts[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "SUMMARY: we discussed the parser.") {
		t.Errorf("the compacted thread does not record the summary:\n%s", md)
	}
}
