package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/loom-agent/loom/llm/llmtest"
)

// editGreeting is a script whose first run stages one edit of greet.go.
const editGreeting = `{"turns":[
  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
  {"text":"Changed."}
]}`

const greetBefore = "package main\n\nfunc greeting() string { return \"hi\" }\n"

func (r *repl) send(line string) {
	r.tm.Type(line)
	r.key(enter)
}

func (r *repl) file(name string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// TestUndo: /undo puts back the files of the last /apply, once; with
// nothing applied it says so and writes nothing.
func TestUndo(t *testing.T) {
	r := start(t, editGreeting, Options{})
	r.send("/undo")
	r.waitFor("Nothing to undo", 1)
	r.send("change the greeting")
	r.waitFor("Changed.", 1)
	r.send("/apply")
	r.waitFor("Applied 1 file(s).", 1)
	if !strings.Contains(r.file("greet.go"), `"hello"`) {
		t.Fatalf("greet.go after /apply:\n%s", r.file("greet.go"))
	}
	r.send("/undo")
	r.waitFor("Undid the last apply: 1 file(s) as they were.", 1)
	if got := r.file("greet.go"); got != greetBefore {
		t.Errorf("greet.go after /undo:\n%s", got)
	}
	r.send("/undo")
	r.waitFor("Nothing to undo", 2)
}

// TestUndoRefusedWhenChanged: a file edited after /apply makes /undo
// refuse, naming it, and the edit made since stays.
func TestUndoRefusedWhenChanged(t *testing.T) {
	r := start(t, editGreeting, Options{})
	r.send("change the greeting")
	r.waitFor("Changed.", 1)
	r.send("/apply")
	r.waitFor("Applied 1 file(s).", 1)
	mine := "package main // mine now\n"
	if err := os.WriteFile(filepath.Join(r.dir, "greet.go"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	r.send("/undo")
	r.waitFor("Not undone", 1)
	r.waitFor("greet.go", 3)
	if got := r.file("greet.go"); got != mine {
		t.Errorf("greet.go = %q, want the user's edit kept", got)
	}
}

// TestUndoAfterRestart: the checkpoint is kept with the thread, so a new
// session that resumes the thread can still undo its last apply.
func TestUndoAfterRestart(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(editGreeting))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	su := setup{db: filepath.Join(t.TempDir(), "threads.db")}
	first := newConversation(t, srv, &su)
	var out bytes.Buffer
	first.Ask(t.Context(), "change the greeting", nil, &out)
	first.Command("/apply", &out)
	if !strings.Contains(out.String(), "Applied 1 file(s).") {
		t.Fatalf("the first session said:\n%s", out.String())
	}
	id := first.thread

	second := newConversation(t, srv, &su) // the same database and folder
	out.Reset()
	second.Command("/undo", &out)
	if !strings.Contains(out.String(), "Nothing to undo") {
		t.Errorf("a new session without the thread undid something:\n%s", out.String())
	}
	second.Command("/resume "+id, &out)
	second.Command("/undo", &out)
	if !strings.Contains(out.String(), "Undid the last apply") {
		t.Fatalf("after /resume, /undo said:\n%s", out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(su.dir, "greet.go")); string(b) != greetBefore {
		t.Errorf("greet.go after /undo:\n%s", b)
	}
}

// TestApplyReviewByHunk: /apply review asks about each hunk; the accepted
// one is written, the skipped one stays staged for /diff.
func TestApplyReviewByHunk(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 30 {
		lines = append(lines, "line "+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	before := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "long.txt"), []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startWith(t, setup{dir: dir, script: `{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"long.txt","old_text":"line bx\n","new_text":"FIRST CHANGE\n"}}]},
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"long.txt","old_text":"line d` + strings.Repeat("x", 29) + `\n","new_text":"SECOND CHANGE\n"}}]},
	  {"text":"Two changes."}
	]}`})
	r.send("change two lines")
	r.waitFor("Two changes.", 1)
	r.send("/apply review")
	r.waitFor("apply this part of long.txt (1/2)?", 1)
	r.waitFor("+FIRST CHANGE", 1)
	r.tm.Type("y")
	// The question line is redrawn in place; the part is printed.
	r.waitFor("+SECOND CHANGE", 1)
	r.tm.Type("n")
	r.waitFor("(2/2)? [y]es / [n]o / [a]ll the rest / [q]uit, skipping the rest no", 1)
	r.waitFor("Applied 1 file(s).", 1)
	got := r.file("long.txt")
	if !strings.Contains(got, "FIRST CHANGE") || strings.Contains(got, "SECOND CHANGE") {
		t.Fatalf("long.txt after accepting the first hunk only:\n%s", got)
	}
	r.send("/diff")
	r.waitFor("+SECOND CHANGE", 2)
	if strings.Count(r.text(), "+FIRST CHANGE") != 1 {
		t.Errorf("the accepted hunk is still staged:\n%s", r.text())
	}
	r.send("/undo")
	r.waitFor("Undid the last apply", 1)
	if got := r.file("long.txt"); got != before {
		t.Errorf("long.txt after /undo:\n%s", got)
	}
}

// TestApplyReviewConflict: a file changed on disk during the review
// refuses the whole apply; nothing is written.
func TestApplyReviewConflict(t *testing.T) {
	r := start(t, editGreeting, Options{})
	r.send("change the greeting")
	r.waitFor("Changed.", 1)
	r.send("/apply review")
	r.waitFor("(1/1)?", 1)
	mine := "package main // mine\n"
	if err := os.WriteFile(filepath.Join(r.dir, "greet.go"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	r.tm.Type("y")
	r.waitFor("Not applied", 1)
	if got := r.file("greet.go"); got != mine {
		t.Errorf("greet.go = %q, want the user's content", got)
	}
}

// TestCtrlCTwiceQuits: Ctrl-C with nothing typed says a second one
// leaves; the second ends the program.
func TestCtrlCTwiceQuits(t *testing.T) {
	r := start(t, `{"turns":[]}`, Options{})
	ctrlC := tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	r.key(ctrlC)
	r.waitFor("Ctrl-C again leaves", 1)
	r.key(ctrlC)
	r.tm.WaitFinished(t, teatestDuration)
}

// TestModelSwitch: /model names the model; /model NAME makes the next
// request go to that model, and the status line says so.
func TestModelSwitch(t *testing.T) {
	r := start(t, `{"turns":[{"text":"On the other one."}]}`, Options{})
	r.send("/model")
	r.waitFor("Model test-model", 1)
	r.send("/model other-model")
	r.waitFor("Now on other-model", 1)
	r.waitFor("other-model · ", 1)
	r.send("which model?")
	r.waitFor("On the other one.", 1)
	if got := r.srv.ChatRequests()[0].Model; got != "other-model" {
		t.Errorf("the request named model %q, want other-model", got)
	}
}

// TestStatusCostAndContext: with a model whose price is known the status
// line adds the cost of the tokens spent, and the share of the context
// the last call filled.
func TestStatusCostAndContext(t *testing.T) {
	r := startWith(t, setup{model: "gpt-4o-2024-08-06", script: `{"turns":[
	  {"text":"Done.","usage":{"prompt_tokens":64000,"completion_tokens":1000}}
	]}`})
	r.send("go")
	r.waitFor("Done.", 1)
	// 64,000 × $2.50/M + 1,000 × $10/M = $0.17; 65,000 of 128,000 = 50%.
	r.waitFor("$0.1700 · context 50%", 1)
}

// TestNoCostWithoutPrice: a model with no known price shows no cost.
func TestNoCostWithoutPrice(t *testing.T) {
	if _, ok := cost("my-local-model", llmUsage(1000, 10)); ok {
		t.Error("a cost for a model of unknown price")
	}
	if c, ok := cost("claude-sonnet-4-5", llmUsage(1_000_000, 0)); !ok || c != 3 {
		t.Errorf("claude-sonnet-4-5: %v %v, want $3", c, ok)
	}
}
