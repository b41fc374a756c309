package mcpservers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm"
)

// TestImportCommand runs `loom mcp-servers import` over real files in a
// home of its own: what it prints, what it writes, and that a bad file
// anywhere changes nothing.
func TestImportCommand(t *testing.T) {
	const config = `{"model": "m", "mcpServers": {"files": {"command": "mine"}}}`
	tests := []struct {
		name    string
		files   map[string]string // relative to HOME
		opts    ImportOptions
		wantOut []string
		wantErr string
		// wantConfig is in the config file after; "" means unchanged.
		wantConfig []string
	}{
		{name: "all assistants",
			files: map[string]string{
				".config/Claude/claude_desktop_config.json": `{"mcpServers": {"files": {"command": "npx"}, "git": {"command": "git-mcp"}}}`,
				".codex/config.toml":                        "[mcp_servers.docs]\nurl = \"https://docs.example/mcp\"\n",
			},
			wantOut:    []string{`added git (from `, `stdio "git-mcp"`, `added docs`, `http https://docs.example/mcp`, `skipped files`, `--force`},
			wantConfig: []string{`"git-mcp"`, `"https://docs.example/mcp"`, `"mine"`, `"model": "m"`}},
		{name: "only one assistant, forced",
			files: map[string]string{
				".config/Claude/claude_desktop_config.json": `{"mcpServers": {"files": {"command": "npx"}}}`,
				".codex/config.toml":                        "[mcp_servers.docs]\nurl = \"https://docs.example/mcp\"\n",
			},
			opts:       ImportOptions{From: []string{"claude-desktop"}, Force: true},
			wantOut:    []string{`replaced files`},
			wantConfig: []string{`"npx"`}},
		{name: "dry run",
			files:   map[string]string{".codex/config.toml": "[mcp_servers.docs]\ncommand = \"d\"\n"},
			opts:    ImportOptions{DryRun: true},
			wantOut: []string{`would add docs`}},
		{name: "a bad file changes nothing",
			files: map[string]string{
				".config/Claude/claude_desktop_config.json": `{"mcpServers": {"git": {"command": "git-mcp"}}}`,
				".codex/config.toml":                        "[mcp_servers.docs\n",
			},
			wantErr: "config.toml"},
		{name: "unknown assistant", opts: ImportOptions{From: []string{"cursor"}}, wantErr: "--from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			home := os.Getenv("HOME")
			t.Setenv("XDG_CONFIG_HOME", "")
			t.Setenv("CODEX_HOME", "")
			for name, data := range tt.files {
				p := filepath.Join(home, name)
				os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			path := llm.ConfigPath()
			os.MkdirAll(filepath.Dir(path), 0o700)
			os.WriteFile(path, []byte(config), 0o600)

			opts := tt.opts
			opts.IO, opts.ConfigPath, opts.Root = f.IOStreams, llm.ConfigPath, t.TempDir()
			err := importRun(&opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				if tt.name == "unknown assistant" && !errors.As(err, new(*cmdutil.UsageError)) {
					t.Errorf("%v is not a usage error", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(f.Out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, f.Out)
				}
			}
			after, _ := os.ReadFile(path)
			if tt.wantConfig == nil && string(after) != config {
				t.Errorf("the config file changed:\n%s", after)
			}
			for _, w := range tt.wantConfig {
				if !strings.Contains(string(after), w) {
					t.Errorf("the config file lacks %s:\n%s", w, after)
				}
			}
		})
	}
}

// TestImportFlags checks the command line reaches the options.
func TestImportFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	var got *ImportOptions
	cmd := NewCmdImport(f.Factory, func(o *ImportOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--from", "codex,claude-code", "--dry-run", "--force", "--root", "/x"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.From, " ") != "codex claude-code" || !got.DryRun || !got.Force || got.Root != "/x" {
		t.Errorf("options %+v", got)
	}
}
