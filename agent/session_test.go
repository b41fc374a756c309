package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
)

const (
	greetGo = `package greet

// Hello greets someone.
func Hello(name string) string {
	return "Hello, " + name
}
`
	mainGo = `package main

import "example.com/greet"

func main() {
	println(greet.Hello("world"))
}
`
)

// TestSessionGrepReadEdit drives the real agent through a whole task: it
// searches, reads two files in parallel, edits both, and answers. The diff
// is asserted exactly, and the disk must be untouched.
func TestSessionGrepReadEdit(t *testing.T) {
	f := newFixture(t, map[string]string{"greet/greet.go": greetGo, "main.go": mainGo},
		llmtest.Turn{Text: "Let me find the function.", ToolCalls: []llmtest.ToolCall{
			{ID: "g1", Name: "grep", Arguments: args(t, map[string]any{"pattern": `Hello\(`})},
		}},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			{ID: "r1", Name: "read_file", Arguments: args(t, map[string]any{"path": "greet/greet.go"})},
			{ID: "r2", Name: "read_file", Arguments: args(t, map[string]any{"path": "main.go"})},
		}},
		llmtest.Turn{Text: "Renaming.", ToolCalls: []llmtest.ToolCall{
			{ID: "e1", Name: "edit_file", Arguments: args(t, map[string]any{"path": "greet/greet.go",
				"old_text": "// Hello greets someone.\nfunc Hello(", "new_text": "// Greet greets someone.\nfunc Greet("})},
			{ID: "e2", Name: "edit_file", Arguments: args(t, map[string]any{"path": "main.go",
				"old_text": "greet.Hello(", "new_text": "greet.Greet("})},
		}},
		llmtest.Turn{Text: "Renamed Hello to Greet in greet/greet.go and its caller in main.go."},
	)
	a := f.agent(t, Options{})
	rec := &recorder{t: t}
	res, err := a.Run(context.Background(), Task{Instruction: "Rename Hello to Greet", Workspace: f.ws}, rec.on)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.StopReason != StopDone || res.Turns != 4 {
		t.Errorf("stop %s after %d turns, want done after 4", res.StopReason, res.Turns)
	}
	if want := "Renamed Hello to Greet in greet/greet.go and its caller in main.go."; res.Final != want {
		t.Errorf("Final = %q, want %q", res.Final, want)
	}
	diff, err := res.Changes.Diff()
	if err != nil {
		t.Fatal(err)
	}
	const wantDiff = `diff --git a/greet/greet.go b/greet/greet.go
--- a/greet/greet.go
+++ b/greet/greet.go
@@ -1,6 +1,6 @@
 package greet
 
-// Hello greets someone.
-func Hello(name string) string {
+// Greet greets someone.
+func Greet(name string) string {
 	return "Hello, " + name
 }
diff --git a/main.go b/main.go
--- a/main.go
+++ b/main.go
@@ -3,5 +3,5 @@
 import "example.com/greet"
 
 func main() {
-	println(greet.Hello("world"))
+	println(greet.Greet("world"))
 }
`
	if diff != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", diff, wantDiff)
	}
	f.assertDiskUnchanged(t)

	// What the model was told at each step.
	reqs := f.srv.ChatRequests()
	if len(reqs) != 4 || f.srv.Remaining() != 0 {
		t.Fatalf("%d requests, %d turns left; want 4 and 0", len(reqs), f.srv.Remaining())
	}
	grep := toolMessages(reqs[1])["g1"]
	if !strings.Contains(grep, "greet/greet.go:4:") || !strings.Contains(grep, "main.go:6:") {
		t.Errorf("grep result sent to the model:\n%s", grep)
	}
	reads := toolMessages(reqs[2])
	if !strings.Contains(reads["r1"], "func Hello(name string)") || !strings.Contains(reads["r2"], `greet.Hello("world")`) {
		t.Errorf("read results sent to the model: %q", reads)
	}
	edits := toolMessages(reqs[3])
	if !strings.HasPrefix(edits["e1"], "Staged: replaced 1 occurrence(s) in greet/greet.go.") ||
		!strings.HasPrefix(edits["e2"], "Staged: replaced 1 occurrence(s) in main.go.") {
		t.Errorf("edit results sent to the model: %q", edits)
	}
	// The transcript is the whole conversation: system, user, then four
	// assistant turns with five tool results between them.
	if n := len(res.Transcript); n != 2+4+5 {
		t.Errorf("transcript has %d messages, want 11", n)
	}
	if res.Transcript[0].Role != "system" || res.Transcript[1].Content != "Rename Hello to Greet" {
		t.Errorf("transcript starts %+v", res.Transcript[:2])
	}

	// The events a front end renders.
	started := eventsOf[ToolStarted](rec)
	finished := eventsOf[ToolFinished](rec)
	turns := eventsOf[TurnFinished](rec)
	if len(started) != 5 || len(finished) != 5 || len(turns) != 4 {
		t.Errorf("events: %d started, %d finished, %d turns; want 5, 5, 4", len(started), len(finished), len(turns))
	}
	for _, fe := range finished {
		if fe.Err != nil {
			t.Errorf("tool %s failed: %v", fe.Name, fe.Err)
		}
		if fe.Name == "edit_file" && len(fe.Changed) != 1 {
			t.Errorf("edit_file event lists changed files %v", fe.Changed)
		}
	}
	var text strings.Builder
	for _, d := range eventsOf[TextDelta](rec) {
		text.WriteString(d.Text)
	}
	if got := text.String(); got != "Let me find the function.Renaming.Renamed Hello to Greet in greet/greet.go and its caller in main.go." {
		t.Errorf("streamed text %q", got)
	}
	if last := turns[len(turns)-1]; last.Total != res.Usage || res.Usage.PromptTokens == 0 {
		t.Errorf("last TurnFinished total %+v, result usage %+v", last.Total, res.Usage)
	}
	states := eventsOf[StateChanged](rec)
	if len(states) == 0 || states[len(states)-1].To != StateDone {
		t.Errorf("state events %v do not end in done", states)
	}
}
