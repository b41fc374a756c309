package root

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm/llmtest"
)

// TestExecute: the root adds every command, and each kind of error
// becomes its exit code with one "loom: " line on stderr.
func TestExecute(t *testing.T) {
	script, err := llmtest.ParseScript([]byte(`{"turns":[{"text":"Done."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		config string // the config file's text, when there is one
		args   []string
		code   int
		out    string
		errOut string
	}{
		{name: "help off a terminal", args: nil, out: "Usage:\n  loom [flags]\n  loom [command]"},
		{name: "every command", args: []string{"--help"},
			out: "acp analyze apply completion doctor help login logout lsp mcp mcp-servers ralph repl run server threads tool tools usage version whoami"},
		{name: "version", args: []string{"version"}, out: "loom test ("},
		{name: "--version", args: []string{"--version"}, out: "loom test (go"},
		{name: "unknown command", args: []string{"nope"}, code: cmdutil.ExitUsage, errOut: `loom: unknown command "nope"`},
		{name: "unknown subcommand", args: []string{"threads", "nope"}, code: cmdutil.ExitUsage, errOut: `unknown command "nope"`},
		{name: "run without an instruction", args: []string{"run"}, code: cmdutil.ExitUsage, errOut: "requires at least 1 arg"},
		{name: "run - with nothing on stdin", args: []string{"run", "-"}, code: cmdutil.ExitUsage, errOut: "no instruction on stdin"},
		{name: "an error of the model, unprefixed", args: []string{"run", "--base-url", "http://127.0.0.1:9/v1", "--max-turns", "1", "hi"},
			code: cmdutil.ExitFailure, errOut: "\nloom: connection failed at http://127.0.0.1:9/v1"},
		{name: "bad flag", args: []string{"tool", "read_file", "--nope"}, code: cmdutil.ExitUsage, errOut: "loom: unknown flag: --nope\n"},
		{name: "bad log level", args: []string{"--log-level", "loud", "version"}, code: cmdutil.ExitUsage, errOut: "--log-level"},
		{name: "missing argument", args: []string{"threads", "show"}, code: cmdutil.ExitUsage, errOut: "accepts 1 arg"},
		{name: "failure", args: []string{"threads", "show", "zzzzzz"}, code: cmdutil.ExitFailure, errOut: "no such thread"},
		{name: "unknown config key", config: `{"baseurl": "http://x", "model": "m"}`, args: []string{"version"},
			errOut: `config.json: unknown key "baseurl" (did you mean "base_url"?)` + "\n"},
		{name: "unknown config key, another command", config: `{"modle": "m"}`, args: []string{"threads", "list"},
			errOut: `unknown key "modle" (did you mean "model"?)`},
		{name: "cancelled", ctx: cancelled, args: []string{"run", "hello"}, code: cmdutil.ExitCancelled, errOut: "loom: cancelled\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t, script)
			f := cmdtest.New(t, srv.URL)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n"), 0o644)
			t.Chdir(dir)
			if tt.config != "" {
				p := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "loom", "config.json")
				os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			code := Execute(ctx, f.Factory, tt.args)
			out := f.Out.String()
			if tt.name == "every command" {
				out = commandNames(out)
			}
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(f.Err.String(), tt.errOut) {
				t.Errorf("loom %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, out, f.Err)
			}
		})
	}
}

// commandNames lists the commands of a help text's "Available Commands".
func commandNames(help string) string {
	_, list, _ := strings.Cut(help, "Available Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			names = append(names, fields[0])
		}
	}
	return strings.Join(names, " ")
}
