package tui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

var tab = tea.KeyPressMsg{Code: tea.KeyTab}

// systemPrompt is the system message of the model's last request.
func (r *repl) systemPrompt() string {
	reqs := r.srv.ChatRequests()
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "system" {
			return m.Content
		}
	}
	return ""
}

// TestMentionCompletes: @ and a few letters, then Tab, complete to the
// file they fuzzily match; sent, the file is in the focus the model is
// told of.
func TestMentionCompletes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"internal/render/model.go", "README.md", "main.go"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("package x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := startWith(t, setup{dir: dir, script: `{"turns":[{"text":"Looked."}]}`})
	r.tm.Type("look at @rndmdl")
	r.key(tab)
	r.key(enter)
	r.waitFor("› look at @internal/render/model.go", 1) // the instruction as sent
	r.waitFor("in focus: internal/render/model.go", 1)
	r.waitFor("Looked.", 1)
	if !strings.Contains(r.systemPrompt(), "- internal/render/model.go") {
		t.Errorf("the file is not in focus in the system prompt:\n%s", r.systemPrompt())
	}
}

// TestMentionConfined: an @path outside the workspace, or not a file of
// it, is not added to the focus; the instruction still goes.
func TestMentionConfined(t *testing.T) {
	r := start(t, `{"turns":[{"text":"Fine."}]}`, Options{})
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.send("read @../../etc/passwd and @" + outside + " and @nothing.go and @greet.go")
	r.waitFor("Fine.", 1)
	r.waitFor("in focus: greet.go", 1)
	if n := strings.Count(r.text(), "not in focus:"); n != 3 {
		t.Errorf("%d refusals, want 3:\n%s", n, r.text())
	}
	if got := r.conv.Focus(); !slices.Equal(got, []string{"greet.go"}) {
		t.Errorf("focus = %q, want greet.go alone", got)
	}
}

// TestCompleteMention: the best match first; a shorter path before a
// longer one that matches as well; no match, nothing.
func TestCompleteMention(t *testing.T) {
	files := []string{"cmd/loom/internal/tui/model.go", "model.go", "docs/modelling.md", "cmd/main.go", "mxaxixn.go", "zzz.txt"}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"model.go", []string{"model.go", "cmd/loom/internal/tui/model.go"}},
		{"tuimod", []string{"cmd/loom/internal/tui/model.go"}},
		{"main", []string{"cmd/main.go", "mxaxixn.go"}}, // the closer match, though longer
		{"qqq", nil},
	}
	for _, tt := range tests {
		if got := CompleteMention(files, tt.pattern, 2); !slices.Equal(got, tt.want) {
			t.Errorf("CompleteMention(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// TestSlashCompletes: Tab completes a command's name; with several
// candidates they are shown and Tab goes through them.
func TestSlashCompletes(t *testing.T) {
	r := start(t, `{"turns":[]}`, Options{})
	r.tm.Type("/un")
	r.key(tab)
	r.key(enter)
	r.waitFor("Nothing to undo", 1)
	r.tm.Type("/t")
	r.key(tab)
	r.key(enter)
	r.waitFor("not available", 1) // /threads without a database
}

// TestShellCommand: !command asks first; allowed, it runs in the
// workspace, its output is shown, and the next instruction carries it to
// the model; refused, nothing runs and nothing is carried.
func TestShellCommand(t *testing.T) {
	for _, tt := range []struct {
		key     string
		wantRan bool
	}{{"y", true}, {"n", false}} {
		t.Run(tt.key, func(t *testing.T) {
			r := start(t, `{"turns":[{"text":"Read it."}]}`, Options{AskHere: true})
			r.send("!echo marker-$((40+2)) && touch ran")
			r.waitFor(`run "echo marker-$((40+2)) && touch ran"?`, 1)
			r.tm.Type(tt.key)
			if tt.wantRan {
				r.waitFor("marker-42", 1)
				r.waitFor("(the output goes with your next instruction)", 1)
			} else {
				r.waitFor("Not run.", 1)
			}
			r.send("what did it say?")
			r.waitFor("Read it.", 1)
			told := strings.Join(r.userMessages(), "\n")
			if strings.Contains(told, "marker-42") != tt.wantRan {
				t.Errorf("the model was told %q; output carried: want %v", told, tt.wantRan)
			}
			if _, err := os.Stat(filepath.Join(r.dir, "ran")); (err == nil) != tt.wantRan {
				t.Errorf("the command ran: %v, want %v", err == nil, tt.wantRan)
			}
		})
	}
}

// TestShellOffWithoutApprover: with commands off (--shell=never) a
// !command says so and runs nothing.
func TestShellOffWithoutApprover(t *testing.T) {
	r := start(t, `{"turns":[]}`, Options{})
	r.send("!touch ran")
	r.waitFor("Commands are off", 1)
	if _, err := os.Stat(filepath.Join(r.dir, "ran")); err == nil {
		t.Error("the command ran")
	}
}

// TestEditorEditsInput: Ctrl+G opens $EDITOR on the input in a private
// temporary file; what the editor leaves becomes the input, and the file
// is removed.
func TestEditorEditsInput(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(bin, "record")
	editor := filepath.Join(bin, "ed.sh")
	script := "#!/bin/sh\n{ echo \"$1\"; stat -c %a \"$1\"; cat \"$1\"; } > " + record + "\nprintf 'from the editor\\nsecond line\\n' > \"$1\"\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", editor)
	r := start(t, `{"turns":[{"text":"Got it."}]}`, Options{})
	r.tm.Type("typed first")
	r.key(tea.KeyPressMsg{Code: 'g', Mod: tea.ModCtrl})
	r.waitFor("second line", 1)
	r.key(enter)
	r.waitFor("Got it.", 1)
	if got := r.userMessages(); len(got) != 1 || !strings.Contains(got[0], "from the editor\nsecond line") {
		t.Errorf("the model was told %q", got)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 || lines[1] != "600" || lines[2] != "typed first" {
		t.Errorf("the editor saw %q, want the file 0600 holding the input", lines)
	}
	if _, err := os.Stat(lines[0]); err == nil {
		t.Errorf("the temporary file %s was left behind", lines[0])
	}
}

// TestEnterDuringReply: Enter pressed while a reply runs sends the input
// once the reply ends, rather than dropping it. (The delay only holds the
// reply open while the second instruction is typed.)
func TestEnterDuringReply(t *testing.T) {
	r := start(t, `{"turns":[{"text":"First answer.","fault":{"delay_ms":1000}},{"text":"Second answer."}]}`, Options{})
	r.send("first")
	r.waitFor("waiting for the model", 1)
	r.send("second")
	r.waitFor("(sent when the reply ends)", 1)
	r.waitFor("Second answer.", 1)
	var got []string
	for _, req := range r.srv.ChatRequests() {
		got = append(got, req.Messages[len(req.Messages)-1].Content)
	}
	if strings.Join(got, "|") != "first|second" {
		t.Errorf("the model was told %q, want first, then second", got)
	}
}
