package tool

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
)

const greet = "package main\n\nfunc greeting() string { return \"hi\" }\n"

func TestTool(t *testing.T) {
	edit := `{"path":"greet.go","old_text":"\"hi\"","new_text":"\"hello\""}`
	for _, tt := range []struct {
		name    string
		opts    ToolOptions
		out     string // stdout holds it
		errOut  string // stderr holds it
		err     string
		usage   bool
		code    int // the exit code asked for
		changed bool
	}{
		{name: "read", opts: ToolOptions{Name: "read_file", Args: `{"path":"greet.go"}`}, out: "return \"hi\""},
		{name: "edit shows the diff", opts: ToolOptions{Name: "edit_file", Args: edit},
			out: "+func greeting() string { return \"hello\" }", errOut: "Not applied: run again with --apply"},
		{name: "edit --apply", opts: ToolOptions{Name: "edit_file", Args: edit, Apply: true},
			out: "+func greeting() string { return \"hello\" }", errOut: "Applied to disk.", changed: true},
		{name: "edit --json", opts: ToolOptions{Name: "edit_file", Args: edit, JSON: true}, out: `"applied": false`},
		{name: "unknown tool", opts: ToolOptions{Name: "nope", Args: "{}"}, err: `unknown tool "nope"`, usage: true},
		{name: "malformed JSON", opts: ToolOptions{Name: "read_file", Args: `{"path":`}, err: "--args is not valid JSON", usage: true},
		{name: "outside the root", opts: ToolOptions{Name: "read_file", Args: `{"path":"../../etc/passwd"}`}, err: "outside the workspace root"},
		{name: "shell off by default", opts: ToolOptions{Name: "shell", Args: `{"command":"touch pwned"}`}, err: "--allow-shell"},
		{name: "shell's exit status", opts: ToolOptions{Name: "shell", Args: `{"command":"echo out; exit 3"}`, AllowShell: true},
			out: "out", err: "exited with status 3", code: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "greet.go"), []byte(greet), 0o644)
			opts := tt.opts
			opts.IO, opts.Tools, opts.Workspace, opts.Root = f.IOStreams, f.Tools, f.Workspace, dir
			err := toolRun(context.Background(), &opts)
			var exit *cmdutil.ExitError
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("toolRun: %v\n%s", err, f.Err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("toolRun = %v, want %q", err, tt.err)
			case tt.usage && !errors.As(err, new(*cmdutil.UsageError)):
				t.Fatalf("toolRun = %v, want a usage error", err)
			case tt.code != 0 && (!errors.As(err, &exit) || exit.Code != tt.code):
				t.Fatalf("toolRun = %v, want exit code %d", err, tt.code)
			}
			if !strings.Contains(f.Out.String(), tt.out) || !strings.Contains(f.Err.String(), tt.errOut) {
				t.Errorf("stdout %q, stderr %q; want %q, %q", f.Out, f.Err, tt.out, tt.errOut)
			}
			if opts.JSON && !json.Valid(f.Out.Bytes()) {
				t.Errorf("--json: not JSON:\n%s", f.Out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); (string(b) != greet) != tt.changed {
				t.Errorf("greet.go changed = %v, want %v", string(b) != greet, tt.changed)
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Error("the shell ran without --allow-shell")
			}
		})
	}
}

func TestList(t *testing.T) {
	f := cmdtest.New(t, "")
	if err := listRun(&ListOptions{IO: f.IOStreams, Tools: f.Tools}); err != nil || !strings.Contains(f.Out.String(), "edit_file  ") {
		t.Errorf("tools: %v\n%s", err, f.Out)
	}
	f.Out.Reset()
	var listed []struct {
		Name     string   `json:"name"`
		Effect   string   `json:"effect"`
		PathArgs []string `json:"path_args"`
	}
	if err := listRun(&ListOptions{IO: f.IOStreams, Tools: f.Tools, JSON: true}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(f.Out.Bytes(), &listed); err != nil {
		t.Fatalf("tools --json: %v\n%s", err, f.Out)
	}
	for _, l := range listed {
		if l.Name == "edit_file" && (l.Effect == "" || !reflect.DeepEqual(l.PathArgs, []string{"path"})) {
			t.Errorf("edit_file: %+v", l)
		}
	}
}

func TestNewCmdToolFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	for _, tt := range []struct {
		args []string
		want ToolOptions
	}{
		{[]string{"grep"}, ToolOptions{Name: "grep", Args: "{}", Root: "."}},
		{[]string{"shell", "--args", `{"command":"ls"}`, "--root", "/src", "--apply", "--allow-shell", "--json"},
			ToolOptions{Name: "shell", Args: `{"command":"ls"}`, Root: "/src", Apply: true, AllowShell: true, JSON: true}},
	} {
		var got *ToolOptions
		cmd := NewCmdTool(f.Factory, func(o *ToolOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		got.IO, got.Tools, got.Workspace = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%v: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

// TestToolHelp: `loom tool NAME --help` shows the tool's arguments from its
// schema, required first; an unknown name or none gets the command's help;
// `loom tools` prints whole descriptions.
func TestToolHelp(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{name: "a tool", args: []string{"edit_file", "--help"},
			want: []string{"edit_file (edit): Replace exact text in a file.", "Arguments (--args as a JSON object):",
				"  new_text     string, required", "  replace_all  boolean, optional  replace every occurrence"},
			not: []string{"Flags:"}},
		{name: "an unknown tool", args: []string{"nope", "--help"}, want: []string{"Usage:", "--args string"}},
		{name: "no tool", args: []string{"--help"}, want: []string{"Usage:", "--args string"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			cmd := NewCmdTool(f.Factory, func(*ToolOptions) error { t.Error("the tool ran"); return nil })
			cmd.SetOut(f.Out)
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(f.Out.String(), w) {
					t.Errorf("help lacks %q:\n%s", w, f.Out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(f.Out.String(), n) {
					t.Errorf("help holds %q:\n%s", n, f.Out)
				}
			}
		})
	}
	f := cmdtest.New(t, "")
	cmd := NewCmdList(f.Factory, nil)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	// edit_file's description goes on past its first sentence.
	if !strings.Contains(f.Out.String(), "The edit is staged in the changeset, not written to disk.") {
		t.Errorf("loom tools cuts descriptions:\n%s", f.Out)
	}
}
