package acp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/tools/toolstest"
)

// retarget is a tool the server knows nothing of but its spec.
type retarget = toolstest.Retarget

// TestNewToolIsGatedAndShown: a staging tool the server has never heard
// of reads its target through the editor, shows as an edit of that file
// with its diff, asks the user, and is written through the editor only
// when allowed.
func TestNewToolIsGatedAndShown(t *testing.T) {
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(retarget{}); err != nil {
		t.Fatal(err)
	}
	for _, answer := range []string{optAllowOnce, optReject} {
		t.Run(answer, func(t *testing.T) {
			turns := []llmtest.Turn{
				{ToolCalls: []llmtest.ToolCall{{ID: "r1", Name: "retarget", Arguments: args(t, map[string]string{"target": "t.txt", "text": "new\n"})}}},
				{Text: "Done."},
			}
			f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{
				caps:   sdk.ClientCapabilities{Fs: sdk.FileSystemCapabilities{ReadTextFile: true, WriteTextFile: true}},
				answer: answer,
				files:  map[string]string{"t.txt": "old\n"},
				tools:  reg,
			})
			abs := filepath.Join(f.root, "t.txt")
			f.ed.buffers[abs] = "unsaved\n"
			if stop, err := f.prompt(t, context.Background(), f.newSession(t), "retarget t.txt"); err != nil || stop != sdk.StopReasonEndTurn {
				t.Fatalf("prompt = %q, %v", stop, err)
			}
			// Gated: one permission request, showing the edit of the
			// editor's text and where it is.
			if len(f.ed.perms) != 1 {
				t.Fatalf("%d permission requests, want 1", len(f.ed.perms))
			}
			perm := mustJSON(t, wire(t, f.ed.perms[0]))
			diff := `{"newText":"new\n","oldText":"unsaved\n","path":` + mustJSON(t, abs) + `,"type":"diff"}` // keys sorted, as wire gives them
			loc := `"locations":[{"path":` + mustJSON(t, abs) + `}]`
			for _, want := range []string{`"toolCallId":"r1"`, `"kind":"edit"`, `"title":"Edit t.txt"`, loc, diff} {
				if !strings.Contains(perm, want) {
					t.Errorf("permission request lacks %s:\n%s", want, perm)
				}
			}
			if !f.ed.hasUpdate(t, `"tool_call"`, `"r1"`, `"kind":"edit"`, `"status":"pending"`, loc) {
				t.Errorf("no pending edit call at t.txt:\n%s", strings.Join(f.ed.sent(t), "\n"))
			}
			status := `"status":"completed"`
			if answer == optReject {
				status = `"status":"failed"`
			}
			if !f.ed.hasUpdate(t, `"tool_call_update"`, `"r1"`, status, diff) {
				t.Errorf("the call does not finish (%s) with its diff:\n%s", status, strings.Join(f.ed.sent(t), "\n"))
			}
			// Written through the editor when allowed; never to the disk.
			if got, want := f.ed.writes[abs], map[string]string{optAllowOnce: "new\n", optReject: ""}[answer]; got != want {
				t.Errorf("fs/write_text_file of t.txt = %q, want %q", got, want)
			}
			if got := f.read(t, "t.txt"); got != "old\n" {
				t.Errorf("the server wrote the disk itself: %q", got)
			}
		})
	}
}

// launch executes without being one command line a terminal could run.
type launch struct{ ran *bool }

func (launch) Spec() tools.Spec {
	return tools.Spec{Name: "launch", Effect: tools.EffectExecute, Schema: json.RawMessage(`{"type":"object"}`)}
}

func (l launch) Run(context.Context, *tools.Env, json.RawMessage) (tools.Result, error) {
	*l.ran = true
	return tools.Result{Text: "launched"}, nil
}

// TestNewCommandToolNeedsAGate: with a terminal the shell is offered, but
// a tool that executes and cannot run in the terminal is refused rather
// than run without asking, unless the server allows its own commands.
func TestNewCommandToolNeedsAGate(t *testing.T) {
	for _, allow := range []bool{false, true} {
		ran := false
		reg, err := tools.NewRegistry(append(tools.Builtin(), launch{&ran})...)
		if err != nil {
			t.Fatal(err)
		}
		turns := []llmtest.Turn{{ToolCalls: []llmtest.ToolCall{{ID: "l1", Name: "launch"}}}, {Text: "Done."}}
		f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{
			caps: sdk.ClientCapabilities{Terminal: true}, answer: optAllowOnce, allowShell: allow, tools: reg,
		})
		if _, err := f.prompt(t, context.Background(), f.newSession(t), "launch"); err != nil {
			t.Fatal(err)
		}
		tm := f.toolMessages()
		switch {
		case !allow && (ran || len(f.ed.perms) != 0 || len(tm) != 1 || !strings.Contains(tm[0], "the launch tool is disabled")):
			t.Errorf("without --allow-shell: ran %v, %d permission requests, the model read %q", ran, len(f.ed.perms), tm)
		case allow && (!ran || len(f.ed.perms) != 1 || *f.ed.perms[0].ToolCall.Kind != sdk.ToolKindExecute):
			t.Errorf("with --allow-shell: ran %v, permission requests %s", ran, mustJSON(t, wire(t, f.ed.perms)))
		}
	}
}
