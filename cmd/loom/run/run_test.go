package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

const greet = "package main\n\nfunc greeting() string { return \"hi\" }\n"

const wantDiff = `diff --git a/greet.go b/greet.go
--- a/greet.go
+++ b/greet.go
@@ -1,3 +1,3 @@
 package main
 
-func greeting() string { return "hi" }
+func greeting() string { return "hello" }
`

// The model reads greet.go, edits it, and finishes.
const editScript = `{"turns":[
  {"text":"Let me look.","tool_calls":[{"name":"read_file","arguments":{"path":"greet.go"}}]},
  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
  {"text":"Changed the greeting to hello."}
]}`

// newOptions is a run of the scripted model on a fresh project.
func newOptions(t *testing.T, script string) (*RunOptions, *cmdtest.Factory, string) {
	t.Helper()
	s, err := llmtest.ParseScript([]byte(script))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	f := cmdtest.New(t, srv.URL)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greet.go"), []byte(greet), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := &RunOptions{IO: f.IOStreams, Workspace: f.Workspace, Approver: f.Approver, Agent: f.Agent,
		ModelName: f.ModelName, Session: f.Session, AgentFlags: cmdutil.AgentFlags{MaxTurns: agent.DefaultMaxTurns},
		Instruction: "change the greeting to hello", Root: dir}
	return opts, f, dir
}

// TestRun calls runRun with buffers for streams: what goes to stdout and
// stderr, what reaches the disk and which error (exit code) comes back.
func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name    string
		script  string
		change  func(*RunOptions, *cmdtest.Factory)
		wantOut string // stdout; "json" checks the JSON instead
		wantErr []string
		notErr  []string // stderr must not hold these
		applied bool
		code    int // the exit code the error asks for (0: none)
	}{
		{name: "diff only", script: editScript, wantOut: wantDiff,
			wantErr: []string{"model: Let me look.", "tool read_file started", "tool edit_file ok", "model: Changed the greeting to hello.\n",
				"3 turns, ", " tokens in, 41 out.", "Thread ", "Not applied: run again with --apply"},
			notErr: []string{"\x1b[", "final:"}},
		{name: "apply", script: editScript, change: func(o *RunOptions, _ *cmdtest.Factory) { o.Apply = true },
			wantOut: wantDiff, wantErr: []string{"Applied to disk."}, applied: true},
		{name: "json", script: editScript, change: func(o *RunOptions, _ *cmdtest.Factory) { o.JSON = true }, wantOut: "json",
			notErr: []string{"final:"}},
		// On a terminal the progress is coloured and the final answer is
		// rendered, not repeated (TestRunRendering).
		{name: "terminal", script: editScript, change: func(o *RunOptions, f *cmdtest.Factory) { f.IOStreams.SetStderrTTY(true) },
			wantOut: wantDiff, wantErr: []string{"\x1b[32m✓\x1b[m edit_file staged greet.go", "Changed the"},
			notErr: []string{"final:", "tool read_file started", "model: "}},
		{name: "stopped at a limit", script: editScript,
			change:  func(o *RunOptions, _ *cmdtest.Factory) { o.Apply, o.AgentFlags.MaxTurns = true, 2 },
			wantOut: wantDiff, wantErr: []string{"Not applied, despite --apply: the run did not finish"}, notErr: []string{"Applied to disk"},
			code: cmdutil.ExitLimit},
		{name: "no edits", script: `{"turns":[{"text":"Nothing to do."}]}`, wantOut: "", wantErr: []string{"No edits."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, f, dir := newOptions(t, tt.script)
			if tt.change != nil {
				tt.change(opts, f)
			}
			err := runRun(context.Background(), opts)
			var exit *cmdutil.ExitError
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("runRun: %v\n%s", err, f.Err)
			case tt.code != 0 && (!errors.As(err, &exit) || exit.Code != tt.code):
				t.Fatalf("runRun = %v, want exit code %d\n%s", err, tt.code, f.Err)
			}
			if tt.wantOut == "json" {
				var got struct {
					Diff         string   `json:"diff"`
					StopReason   string   `json:"stop_reason"`
					Thread       string   `json:"thread_id"` // loom_agent's names
					FilesChanged []string `json:"files_changed"`
					Applied      bool     `json:"applied"`
				}
				if err := json.Unmarshal(f.Out.Bytes(), &got); err != nil || got.Diff != wantDiff || got.Applied ||
					got.StopReason != string(agent.StopDone) || got.Thread == "" || !reflect.DeepEqual(got.FilesChanged, []string{"greet.go"}) {
					t.Errorf("--json: %v: %+v\n%s", err, got, f.Out)
				}
			} else if f.Out.String() != tt.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", f.Out, tt.wantOut)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(f.Err.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, f.Err)
				}
			}
			for _, not := range tt.notErr {
				if strings.Contains(f.Err.String(), not) {
					t.Errorf("stderr holds %q:\n%s", not, f.Err)
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			if got := string(b) != greet; got != tt.applied {
				t.Errorf("greet.go changed = %v, want %v", got, tt.applied)
			}
		})
	}
}

// TestRunRefuses: a run that cannot start says why and changes nothing.
func TestRunRefuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*RunOptions, *cmdtest.Factory)
		want   error  // matched with errors.Is, or
		text   string // contained in the message
	}{
		{name: "no model", change: func(_ *RunOptions, f *cmdtest.Factory) { f.ModelURL = "" }, want: llm.ErrNoModel},
		{name: "unknown thread", change: func(o *RunOptions, _ *cmdtest.Factory) { o.Thread = "zzzz" }, text: "no such thread"},
		{name: "missing root", change: func(o *RunOptions, _ *cmdtest.Factory) { o.Root = filepath.Join(o.Root, "nope") }, text: "nope"},
		{name: "ask without a terminal", change: func(o *RunOptions, _ *cmdtest.Factory) { o.AgentFlags.Shell = cmdutil.ShellAsk },
			text: "needs a terminal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, f, dir := newOptions(t, editScript)
			tt.change(opts, f)
			err := runRun(context.Background(), opts)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("runRun = %v, want %v %q", err, tt.want, tt.text)
			}
			if f.Out.Len() != 0 {
				t.Errorf("stdout: %s", f.Out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); string(b) != greet {
				t.Errorf("greet.go changed:\n%s", b)
			}
		})
	}
}

// TestNewCmdRunFlags: the command line becomes the options, which runF
// receives without anything being run.
func TestNewCmdRunFlags(t *testing.T) {
	defaults := cmdutil.AgentFlags{MaxTurns: agent.DefaultMaxTurns}
	for _, tt := range []struct {
		args []string
		want RunOptions
	}{
		{[]string{"fix", "the", "bug"}, RunOptions{Instruction: "fix the bug", Root: ".", AgentFlags: defaults}},
		{[]string{"--apply", "--json", "--root", "/src", "--focus", "a.go,b.go", "--thread", "3fa2", "--db", "t.db", "go"},
			RunOptions{Instruction: "go", Root: "/src", RootSet: true, Focus: []string{"a.go", "b.go"}, Apply: true, JSON: true, Thread: "3fa2", DB: "t.db", AgentFlags: defaults}},
		{[]string{"--provider", "anthropic", "--model", "m", "--base-url", "http://x", "--max-turns", "4", "--max-tokens", "99", "--shell", "never", "--allow-shell", "go"},
			RunOptions{Instruction: "go", Root: ".", AgentFlags: cmdutil.AgentFlags{Provider: "anthropic", Model: "m", BaseURL: "http://x",
				MaxTurns: 4, MaxTokens: 99, Shell: "never", AllowShell: true}}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := cmdtest.New(t, "")
			var got *RunOptions
			cmd := NewCmdRun(f.Factory, func(o *RunOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.IO != f.IOStreams || got.Agent == nil || got.Session == nil || got.Approver == nil || got.Workspace == nil || got.ModelName == nil {
				t.Fatal("the options lack the factory's dependencies")
			}
			got.IO, got.Workspace, got.Approver, got.Agent, got.ModelName, got.Session = nil, nil, nil, nil, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

// TestRunUnreportedUsage: a server that reports no token counts is shown
// as unknown, not as 0 tokens; --json says null.
func TestRunUnreportedUsage(t *testing.T) {
	for _, json := range []bool{false, true} {
		opts, f, _ := newOptions(t, `{"turns":[{"text":"Nothing to do.","usage":{"prompt_tokens":0,"completion_tokens":0}}]}`)
		opts.JSON = json
		if err := runRun(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		if got := f.Out.String() + f.Err.String(); strings.Contains(got, "0 tokens") || strings.Contains(got, `"prompt_tokens"`) ||
			!strings.Contains(got, "tokens unknown") && !strings.Contains(got, `"usage": null`) {
			t.Errorf("json=%v: usage not shown as unknown:\n%s", json, got)
		}
	}
}

// TestRunStdin: `loom run -` reads the instruction from stdin.
func TestRunStdin(t *testing.T) {
	for _, tt := range []struct{ name, in, want, err string }{
		{name: "text", in: "fix\nthe bug\n", want: "fix\nthe bug\n"},
		{name: "empty", in: " \n", err: "no instruction on stdin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			f.IOStreams.In = strings.NewReader(tt.in)
			var got *RunOptions
			cmd := NewCmdRun(f.Factory, func(o *RunOptions) error { got = o; return nil })
			cmd.SetArgs([]string{"-"})
			err := cmd.Execute()
			if tt.err != "" {
				if !errors.As(err, new(*cmdutil.UsageError)) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a usage error %q", err, tt.err)
				}
				return
			}
			if err != nil || got.Instruction != tt.want {
				t.Fatalf("instruction %q, %v; want %q", got.Instruction, err, tt.want)
			}
		})
	}
}

// TestRunRendering: on a terminal the answer is rendered markdown and the
// diff on stdout coloured; under NO_COLOR nothing is coloured; with
// --plain, or off a terminal, the lines stay plain (the diff exact for
// git apply, the answer a "final:" line).
func TestRunRendering(t *testing.T) {
	const script = `{"turns":[
	  {"tool_calls":[{"name":"edit_file","arguments":{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}}]},
	  {"text":"Changed the **greeting**."}
	]}`
	colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;)`)
	tests := []struct {
		name           string
		tty, plain     bool
		noColor        bool
		wantMarkdown   bool // "**" rendered away
		wantColour     bool
		wantPlainFinal bool
	}{
		{name: "terminal", tty: true, wantMarkdown: true, wantColour: true},
		{name: "NO_COLOR", tty: true, noColor: true, wantMarkdown: true},
		{name: "--plain", tty: true, plain: true, wantPlainFinal: true},
		{name: "pipe", wantPlainFinal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TERM", "xterm-256color")
			t.Setenv("COLORTERM", "")
			t.Setenv("NO_COLOR", "")
			if tt.noColor {
				t.Setenv("NO_COLOR", "1")
			}
			opts, f, _ := newOptions(t, script)
			opts.Plain = tt.plain
			f.IOStreams.SetStdoutTTY(tt.tty)
			f.IOStreams.SetStderrTTY(tt.tty)
			if err := runRun(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			out, errOut := f.Out.String(), f.Err.String()
			if got := strings.Contains(ansi.Strip(errOut), "Changed the greeting.") && !strings.Contains(errOut, "**"); got != tt.wantMarkdown {
				t.Errorf("markdown rendered: %v, want %v:\n%q", got, tt.wantMarkdown, errOut)
			}
			if got := colour.MatchString(out + errOut); got != tt.wantColour {
				t.Errorf("coloured: %v, want %v:\nstdout %q\nstderr %q", got, tt.wantColour, out, errOut)
			}
			if tt.wantColour && !strings.Contains(out, "\x1b[32m+func greeting()") {
				t.Errorf("the added line is not green:\n%q", out)
			}
			if !tt.wantColour && !tt.wantMarkdown && out != wantDiff {
				t.Errorf("stdout is not the plain diff:\n%q", out)
			}
			// The answer is printed once, as it streamed.
			if got := strings.Contains(errOut, "model: Changed the **greeting**.\n") && strings.Count(errOut, "Changed the **greeting**.") == 1; got != tt.wantPlainFinal {
				t.Errorf("the plain answer once: %v, want %v:\n%s", got, tt.wantPlainFinal, errOut)
			}
		})
	}
}

// TestRunRepositoryRoot: from a subfolder of a repository the workspace is
// the repository (the model's read of greet.go at its top finds it) unless
// --root names the subfolder; --focus is relative to the working folder.
func TestRunRepositoryRoot(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rootSet bool
		focus   []string
		wantErr string // "": the run edits greet.go at the repository's top
	}{
		{name: "repository around the folder", focus: []string{"here.go"}},
		{name: "--root narrows it", rootSet: true, wantErr: "greet.go"},
		{name: "focus outside the repository", focus: []string{"../../../elsewhere.go"}, wantErr: "files in focus"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, f, dir := newOptions(t, editScript)
			sub := filepath.Join(dir, "cmd", "tool")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "here.go"), []byte("package tool\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			opts.Root, opts.RootSet, opts.Focus, opts.Apply = sub, tt.rootSet, tt.focus, true
			err := runRun(context.Background(), opts)
			b, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(string(b), "hello") {
					t.Fatalf("runRun = %v; greet.go:\n%s\n%s", err, b, f.Err)
				}
				return
			}
			if string(b) != greet {
				t.Errorf("greet.go changed:\n%s", b)
			}
			if got := fmt.Sprint(err) + f.Err.String(); !strings.Contains(got, tt.wantErr) {
				t.Errorf("runRun = %v, want %q in the error or stderr:\n%s", err, tt.wantErr, f.Err)
			}
		})
	}
}
