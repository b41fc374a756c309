package tui

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
)

// hangGuard only keeps a broken model from hanging a test.
const hangGuard = 30 * time.Second

// repl is the model over a real conversation: a workspace in a temporary
// folder, the agent with Loom's tools, the model at an llmtest server
// playing script. Its screen keeps everything the program wrote; term
// is a terminal emulator fed the same bytes, showing what a user sees now.
type repl struct {
	t      *testing.T
	tm     *teatest.TestModel
	srv    *llmtest.Server
	dir    string
	conv   *Conversation
	screen bytes.Buffer
	term   *vt.Emulator
}

func start(t *testing.T, script string, opts Options, progOpts ...tea.ProgramOption) *repl {
	t.Helper()
	return startWith(t, setup{script: script, opts: opts, progOpts: progOpts})
}

// setup is how startWith makes the REPL.
type setup struct {
	script   string
	opts     Options
	progOpts []tea.ProgramOption
	// db is a thread database to record in ("": none); dir the workspace
	// ("": a fresh one holding greet.go).
	db, dir string
	// model names the model ("": cmdtest.Model).
	model string
}

func startWith(t *testing.T, su setup) *repl {
	t.Helper()
	s, err := llmtest.ParseScript([]byte(su.script))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	conv := newConversation(t, srv, &su)
	progOpts := su.progOpts
	if len(progOpts) == 0 {
		progOpts = []tea.ProgramOption{tea.WithColorProfile(colorprofile.ANSI)}
	}
	tm := teatest.NewTestModel(t, New(conv, su.opts), teatest.WithInitialTermSize(termWidth, termHeight), teatest.WithProgramOptions(progOpts...))
	t.Cleanup(func() { tm.Quit() })
	term := vt.NewEmulator(termWidth, termHeight)
	// The emulator answers the program's queries on a pipe nobody reads.
	go io.Copy(io.Discard, term)
	t.Cleanup(func() { term.Close() })
	return &repl{t: t, tm: tm, srv: srv, dir: su.dir, conv: conv, term: term}
}

// newConversation is a conversation in su.dir (made when empty) with the
// model at srv, recording in su.db when set.
func newConversation(t *testing.T, srv *llmtest.Server, su *setup) *Conversation {
	t.Helper()
	f := cmdtest.New(t, srv.URL)
	if su.dir == "" {
		su.dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(su.dir, "greet.go"), []byte("package main\n\nfunc greeting() string { return \"hi\" }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := f.Workspace(su.dir)
	if err != nil {
		t.Fatal(err)
	}
	model := su.model
	if model == "" {
		model = cmdtest.Model
	}
	ag, err := f.AgentWith(cmdutil.AgentFlags{MaxTurns: agent.DefaultMaxTurns}, ws, model, mustTools(t, f, ws.Root()))
	if err != nil {
		t.Fatal(err)
	}
	runs := &session.Service{}
	if su.db != "" {
		st, err := f.OpenStore(su.db, cmdutil.ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		runs.Store = st
	}
	conv := NewConversation(ws, ag, model, nil, runs)
	conv.SwitchModel = func(name string) (*agent.Agent, error) {
		return f.AgentWith(cmdutil.AgentFlags{MaxTurns: agent.DefaultMaxTurns}, ws, name, mustTools(t, f, ws.Root()))
	}
	return conv
}

func mustTools(t *testing.T, f *cmdtest.Factory, root string) *tools.Registry {
	t.Helper()
	reg, err := f.AgentTools(root)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const termWidth, termHeight = 100, 30

// text is what the program has shown so far, escape sequences left out.
func (r *repl) text() string {
	r.t.Helper()
	n := r.screen.Len()
	if _, err := r.screen.ReadFrom(r.tm.Output()); err != nil {
		r.t.Fatal(err)
	}
	r.term.Write(r.screen.Bytes()[n:])
	return ansi.Strip(r.screen.String())
}

// shown is the terminal's screen now. A line redrawn in place (the status
// line) is read here: the renderer rewrites only the cells that changed, so
// the bytes written hold its new text in pieces.
func (r *repl) shown() string {
	r.t.Helper()
	r.text()
	return r.term.String()
}

// waitOnScreen waits until the terminal's screen shows s.
func (r *repl) waitOnScreen(s string) {
	r.t.Helper()
	for deadline := time.Now().Add(hangGuard); !strings.Contains(r.shown(), s); {
		if time.Now().After(deadline) {
			r.t.Fatalf("waited in vain for %q on the screen; it shows:\n%s", s, r.shown())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor waits until the screen shows s n times.
func (r *repl) waitFor(s string, n int) {
	r.t.Helper()
	for deadline := time.Now().Add(hangGuard); strings.Count(r.text(), s) < n; {
		if time.Now().After(deadline) {
			r.t.Fatalf("waited in vain for %q (%d times); the screen shows:\n%s", s, n, r.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *repl) key(k tea.KeyPressMsg) { r.tm.Send(k) }

var enter = tea.KeyPressMsg{Code: tea.KeyEnter}

// userMessages are the user's messages of the model's last request.
func (r *repl) userMessages() []string {
	reqs := r.srv.ChatRequests()
	var out []string
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "user" {
			out = append(out, m.Content)
		}
	}
	return out
}

// TestPasteIsOneInstruction: a paste of two lines, then Enter, is one
// instruction and one model call, both lines in it.
func TestPasteIsOneInstruction(t *testing.T) {
	r := start(t, `{"turns":[{"text":"Got both lines."},{"text":"A second answer."}]}`, Options{})
	r.tm.Send(tea.PasteMsg{Content: "first line\nsecond line"})
	r.key(enter)
	r.waitFor("Got both lines.", 1)
	if n := len(r.srv.ChatRequests()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	if got := r.userMessages(); len(got) != 1 || !strings.Contains(got[0], "first line\nsecond line") {
		t.Errorf("the model was told %q, want one message with both lines", got)
	}
}

// TestNewlineKeys: Alt+Enter, Shift+Enter and Ctrl+J add a line to the
// input; Enter then sends both lines as one instruction.
func TestNewlineKeys(t *testing.T) {
	for _, k := range []tea.KeyPressMsg{
		{Code: tea.KeyEnter, Mod: tea.ModAlt},
		{Code: tea.KeyEnter, Mod: tea.ModShift},
		{Code: 'j', Mod: tea.ModCtrl},
	} {
		t.Run(k.String(), func(t *testing.T) {
			r := start(t, `{"turns":[{"text":"Two lines read."}]}`, Options{})
			r.tm.Type("one")
			r.key(k)
			r.tm.Type("two")
			r.key(enter)
			r.waitFor("Two lines read.", 1)
			if got := r.userMessages(); len(r.srv.ChatRequests()) != 1 || len(got) != 1 || !strings.Contains(got[0], "one\ntwo") {
				t.Errorf("%d calls, the model was told %q; want one call with \"one\\ntwo\"", len(r.srv.ChatRequests()), got)
			}
		})
	}
}

// TestMarkdownRendered: the complete answer is printed as rendered
// markdown: no ** left, a bullet for a list item.
func TestMarkdownRendered(t *testing.T) {
	r := start(t, `{"turns":[{"text":"Some **bold** text.\n\n- item one\n"}]}`, Options{})
	r.tm.Type("explain")
	r.key(enter)
	r.waitFor("Some bold text.", 1)
	r.waitFor("• item one", 1)
}

// TestSpinnerBeforeFirstToken: from the moment the run starts until the
// first token, a spinner says the model is being waited for. (The delay
// makes the wait visible; nothing is timed.)
func TestSpinnerBeforeFirstToken(t *testing.T) {
	r := start(t, `{"turns":[{"text":"Here it is.","fault":{"delay_ms":500}}]}`, Options{})
	r.tm.Type("go")
	r.key(enter)
	r.waitFor("Here it is.", 1)
	text := r.text()
	spin := strings.Index(text, "waiting for the model")
	if spin < 0 || spin > strings.Index(text, "Here it is.") {
		t.Errorf("no spinner before the answer:\n%s", text)
	}
}

// TestStatusLineTokens: the status line names the model and adds up the
// tokens of every run in the session.
func TestStatusLineTokens(t *testing.T) {
	r := start(t, `{"turns":[
	  {"text":"First.","usage":{"prompt_tokens":1200,"completion_tokens":34}},
	  {"text":"Second.","usage":{"prompt_tokens":100,"completion_tokens":6}}
	]}`, Options{})
	r.waitFor(cmdtest.Model+" · ", 1)
	r.tm.Type("one")
	r.key(enter)
	r.waitOnScreen("tokens 1200 in, 34 out")
	r.tm.Type("two")
	r.key(enter)
	r.waitOnScreen("tokens 1300 in, 40 out")
}

// TestApprovalKeys: the approver's question shows in the TUI and takes
// one key: y runs the command, n refuses it, a runs it and every later
// one without asking. The answer stays on screen after the question.
func TestApprovalKeys(t *testing.T) {
	script := `{"turns":[
	  {"tool_calls":[{"id":"c1","name":"shell","arguments":{"command":"touch m1"}}]},
	  {"tool_calls":[{"id":"c2","name":"shell","arguments":{"command":"touch m2"}}]},
	  {"text":"All done."}
	]}`
	tests := []struct {
		keys    string // one per question asked
		wantRan bool
	}{
		{"yy", true},
		{"nn", false},
		{"a", true},
	}
	words := map[rune]string{'y': "yes", 'n': "no", 'a': "always"}
	for _, tt := range tests {
		t.Run(tt.keys, func(t *testing.T) {
			r := start(t, script, Options{AskHere: true})
			r.tm.Type("touch two markers")
			r.key(enter)
			for i, k := range tt.keys {
				cmd := `run "touch m` + string(rune('1'+i)) + `"? [y]es / [n]o / [a]lways `
				r.waitFor(cmd, 1)
				r.tm.Type(string(k))
				r.waitFor(cmd+words[k], 1)
			}
			r.waitFor("All done.", 1)
			if len(tt.keys) == 1 && strings.Contains(r.text(), `run "touch m2"`) {
				t.Errorf("asked again after always:\n%s", r.text())
			}
			for _, name := range []string{"m1", "m2"} {
				if _, err := os.Stat(filepath.Join(r.dir, name)); (err == nil) != tt.wantRan {
					t.Errorf("%s created: %v, want %v", name, err == nil, tt.wantRan)
				}
			}
		})
	}
}

// TestSlashCommands: /diff shows the staged edit coloured, a typo gets
// the closest command, /apply writes.
func TestSlashCommands(t *testing.T) {
	r := start(t, `{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"Changed."}
	]}`, Options{})
	r.tm.Type("change the greeting")
	r.key(enter)
	r.waitFor("Changed.", 1)
	r.tm.Type("/dif")
	r.key(enter)
	r.waitFor("Unknown command /dif; did you mean /diff?", 1)
	r.tm.Type("/diff")
	r.key(enter)
	r.waitFor(`+func greeting() string { return "hello" }`, 1)
	if !strings.Contains(r.screen.String(), "\x1b[32m+func greeting()") {
		t.Errorf("the added line is not green:\n%q", r.screen.String())
	}
	r.tm.Type("/apply")
	r.key(enter)
	r.waitFor("Applied 1 file(s).", 1)
	if b, _ := os.ReadFile(filepath.Join(r.dir, "greet.go")); !strings.Contains(string(b), `"hello"`) {
		t.Errorf("greet.go = %q after /apply", b)
	}
}

// TestClosest: a typo gets the command it most likely meant, and a word
// far from every command gets none.
func TestClosest(t *testing.T) {
	for in, want := range map[string]string{"/dif": "/diff", "/aply": "/apply", "/qiut": "/quit", "/hlep": "/help", "/resum": "/resume", "/banana": "", "/": ""} {
		if got := Closest(in); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarkdownUnpadded: a rendered line ends with its text, not with the
// spaces glamour pads it with to the terminal's width.
func TestMarkdownUnpadded(t *testing.T) {
	for _, l := range strings.Split(markdown("Short **line**.\n\n- item", 100), "\n") {
		if strings.HasSuffix(ansi.Strip(l), " ") {
			t.Errorf("line %q ends in spaces", l)
		}
	}
}

// TestNoColour: on a terminal without colours (NO_COLOR), what is printed
// above the input has none either: the answer's markdown and the diff.
func TestNoColour(t *testing.T) {
	r := start(t, `{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"Some **bold** and `+"`code`"+`."}
	]}`, Options{}, tea.WithColorProfile(colorprofile.ASCII))
	r.tm.Type("go")
	r.key(enter)
	r.waitFor("Some bold and", 1)
	r.tm.Type("/diff")
	r.key(enter)
	r.waitFor(`+func greeting() string { return "hello" }`, 1)
	if colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7])[;m]`).FindString(r.screen.String()); colour != "" {
		t.Errorf("a colour %q was printed:\n%q", colour, r.screen.String())
	}
}

// TestCtrlCAtTheQuestion: Ctrl-C while a question waits stops the run;
// the command does not run, the question goes, and the next instruction
// is taken.
func TestCtrlCAtTheQuestion(t *testing.T) {
	r := start(t, `{"turns":[
	  {"tool_calls":[{"id":"c1","name":"shell","arguments":{"command":"touch m1"}}]},
	  {"text":"Next answer."}
	]}`, Options{AskHere: true})
	r.tm.Type("touch a marker")
	r.key(enter)
	r.waitFor(`run "touch m1"?`, 1)
	r.key(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	r.waitFor("Stopped.", 1)
	r.tm.Type("and now?")
	r.key(enter)
	r.waitFor("Next answer.", 1)
	if _, err := os.Stat(filepath.Join(r.dir, "m1")); err == nil {
		t.Error("the command ran")
	}
}

// TestHistory: Up brings back what was sent, older with each press; Down
// goes forward again, to an empty input past the newest.
func TestHistory(t *testing.T) {
	r := start(t, `{"turns":[{"text":"First."},{"text":"Second."},{"text":"Third."}]}`, Options{})
	up, down := tea.KeyPressMsg{Code: tea.KeyUp}, tea.KeyPressMsg{Code: tea.KeyDown}
	r.tm.Type("one")
	r.key(enter)
	r.waitFor("First.", 1)
	r.tm.Type("/help")
	r.key(enter)
	r.waitFor("this list", 1)
	r.key(up)
	r.key(up)
	r.key(enter) // "one" again
	r.waitFor("Second.", 1)
	r.key(up)
	r.key(up)
	r.key(down)
	r.key(down)
	r.tm.Type("three")
	r.key(enter)
	r.waitFor("Third.", 1)
	var got []string
	for _, req := range r.srv.ChatRequests() {
		got = append(got, req.Messages[len(req.Messages)-1].Content)
	}
	if strings.Join(got, "|") != "one|one|three" {
		t.Errorf("the model was told %q, want one, one, three", got)
	}
}

// TestEscapesFromOutsideDropped: escape sequences in the model's answer
// and in a file shown by /diff never reach the terminal: no window title,
// no clipboard write, no colour of their own.
func TestEscapesFromOutsideDropped(t *testing.T) {
	r := start(t, `{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"\u001b]0;pwned\u0007hello\""}}]},
	  {"text":"Look \u001b]52;c;ZXZpbA==\u0007here\u001b[5;31m now."}
	]}`, Options{})
	r.tm.Type("go")
	r.key(enter)
	r.waitFor("Look here now.", 1)
	r.tm.Type("/diff")
	r.key(enter)
	r.waitFor(`return "hello"`, 1)
	for _, bad := range []string{"\x1b]0;", "\x1b]52;", "\x1b[5;31m", "\a"} {
		if strings.Contains(r.screen.String(), bad) {
			t.Errorf("%q reached the terminal:\n%q", bad, r.screen.String())
		}
	}
}

// teatestDuration bounds waiting for the program's end (a hang guard).
var teatestDuration = teatest.WithFinalTimeout(hangGuard)

func llmUsage(in, out int) llm.Usage { return llm.Usage{PromptTokens: in, CompletionTokens: out} }
