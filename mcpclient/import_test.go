package mcpclient

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

// writeTree writes a txtar archive's files under dir; "ROOT" in a file's
// text becomes dir.
func writeTree(t *testing.T, dir, archive string) {
	t.Helper()
	for _, f := range txtar.Parse([]byte(archive)).Files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := strings.ReplaceAll(string(f.Data), "ROOT", dir)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtures are each assistant's files as they write them.
const fixtures = `
-- home/.config/Claude/claude_desktop_config.json --
{"globalShortcut": "", "mcpServers": {
  "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
  "old-sse": {"type": "sse", "url": "http://localhost:9/sse"}
}}
-- home/.claude.json --
{"numStartups": 3, "mcpServers": {
  "tracker": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"X-Team": "a"}}
 },
 "projects": {
  "ROOT/repo": {"mcpServers": {"db": {"type": "stdio", "command": "db-mcp", "env": {"DB": "x"}}}},
  "ROOT/other": {"mcpServers": {"elsewhere": {"command": "no"}}}
 }}
-- repo/.mcp.json --
{"mcpServers": {"shared": {"command": "shared-mcp", "args": ["${HOME}/x"]}, "bad name": {"command": "x"}}}
-- home/.codex/config.toml --
model = "o3"

[mcp_servers.docs]
command = "docs-mcp"
args = ["--stdio"]
env = { TOKEN_FILE = "/run/t" }
tool_timeout_sec = 90
disabled_tools = ["delete"]

[mcp_servers.remote]
url = "https://remote.example.com/mcp"
http_headers = { "X-Key" = "k" }
bearer_token_env_var = "REMOTE_TOKEN"
enabled = false
`

func TestReadAssistant(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, fixtures)
	home, root := filepath.Join(dir, "home"), filepath.Join(dir, "repo")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("CODEX_HOME", "")
	if runtime.GOOS == "darwin" {
		t.Fatal("the fixture is Linux's layout")
	}
	tests := []struct {
		from  Assistant
		want  map[string]ServerConfig
		notes map[string]string
	}{
		{ClaudeDesktop, map[string]ServerConfig{
			"files":   {Command: "npx", Args: []string{"-y", "@modelcontextprotocol/server-filesystem", "/tmp"}},
			"old-sse": {Type: "sse", URL: "http://localhost:9/sse"},
		}, nil},
		{ClaudeCode, map[string]ServerConfig{
			"tracker":  {Type: "http", URL: "https://mcp.example.com/mcp", Headers: map[string]string{"X-Team": "a"}},
			"db":       {Type: "stdio", Command: "db-mcp", Env: map[string]string{"DB": "x"}},
			"shared":   {Command: "shared-mcp", Args: []string{"${HOME}/x"}},
			"bad name": {Command: "x"},
		}, map[string]string{"shared": "${VAR}"}},
		{Codex, map[string]ServerConfig{
			"docs": {Command: "docs-mcp", Args: []string{"--stdio"}, Env: map[string]string{"TOKEN_FILE": "/run/t"},
				Timeout: Duration(90 * time.Second), DisabledTools: []string{"delete"}},
			"remote": {URL: "https://remote.example.com/mcp", Headers: map[string]string{"X-Key": "k"}, Disabled: true},
		}, map[string]string{"remote": "bearer_token_env_var REMOTE_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.from), func(t *testing.T) {
			found, err := ReadAssistant(tt.from, home, root)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]ServerConfig{}
			for _, f := range found {
				got[f.Name] = f.Config
				if want := tt.notes[f.Name]; want != "" && !strings.Contains(strings.Join(f.Notes, "\n"), want) {
					t.Errorf("%s: notes %q, want one about %q", f.Name, f.Notes, want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("found %v, want %v", got, tt.want)
			}
			for name, want := range tt.want {
				if g, ok := got[name]; !ok || describeForTest(g) != describeForTest(want) {
					t.Errorf("%s = %+v, want %+v", name, g, want)
				}
			}
		})
	}
}

func describeForTest(c ServerConfig) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func TestReadAssistantMissingAndBadFiles(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("CODEX_HOME", "")
	tests := []struct {
		name, from, archive, wantErr string
	}{
		{"nothing there", "codex", "", ""},
		{"bad toml", "codex", "-- home/.codex/config.toml --\n[mcp_servers.x\ncommand = 1\n", "config.toml"},
		{"wrong toml type", "codex", "-- home/.codex/config.toml --\n[mcp_servers.x]\nargs = \"not a list\"\n", "config.toml"},
		{"bad json", "claude-desktop", "-- home/.config/Claude/claude_desktop_config.json --\n{\"mcpServers\": {\n", "claude_desktop_config.json"},
		{"bad project file", "claude-code", "-- repo/.mcp.json --\n{\"mcpServers\": []}\n", ".mcp.json"},
		{"unknown assistant", "cursor", "", "unknown assistant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.archive)
			found, err := ReadAssistant(Assistant(tt.from), filepath.Join(dir, "home"), filepath.Join(dir, "repo"))
			switch {
			case tt.wantErr == "" && (err != nil || len(found) != 0):
				t.Fatalf("got %v, %v; want nothing", found, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestImport(t *testing.T) {
	files := Found{Name: "files", From: "desktop", Config: ServerConfig{Command: "npx", Args: []string{"fs"}}}
	other := Found{Name: "files", From: "codex", Config: ServerConfig{Command: "other"}}
	web := Found{Name: "web", From: "code", Config: ServerConfig{URL: "https://w.example/mcp"}}
	sse := Found{Name: "old", From: "desktop", Config: ServerConfig{Type: "sse", URL: "http://x/sse"}}
	spaced := Found{Name: "bad name", From: "code", Config: ServerConfig{Command: "x"}}
	const existing = `{
  "model": "m",
  "mcpServers": {"files": {"command": "mine"}},
  "provider": "openai"
}
`
	tests := []struct {
		name           string
		config         string // "" for no file
		found          []Found
		force          bool
		wantAdded      []string
		wantReplaced   []string
		wantSkipped    []string
		wantServers    map[string]string // name → command or url after
		wantKeysInFile string            // top-level keys in order
	}{
		{name: "new file", found: []Found{files, web},
			wantAdded: []string{"files", "web"}, wantServers: map[string]string{"files": "npx", "web": "https://w.example/mcp"},
			wantKeysInFile: "mcpServers"},
		{name: "clash skipped, rest kept in order", config: existing, found: []Found{files, web},
			wantAdded: []string{"web"}, wantSkipped: []string{"files"},
			wantServers: map[string]string{"files": "mine", "web": "https://w.example/mcp"}, wantKeysInFile: "model mcpServers provider"},
		{name: "clash replaced with force", config: existing, found: []Found{files}, force: true,
			wantReplaced: []string{"files"}, wantServers: map[string]string{"files": "npx"}, wantKeysInFile: "model mcpServers provider"},
		{name: "first of a name wins; unusable skipped", config: `{"provider": "openai"}`, found: []Found{files, other, sse, spaced},
			wantAdded: []string{"files"}, wantSkipped: []string{"files", "old", "bad name"},
			wantServers: map[string]string{"files": "npx"}, wantKeysInFile: "provider mcpServers"},
		{name: "identical is no change", config: `{"mcpServers": {"files": {"command": "npx", "args": ["fs"]}}}`, found: []Found{files},
			wantSkipped: []string{"files"}, wantServers: map[string]string{"files": "npx"}, wantKeysInFile: "mcpServers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loom", "config.json")
			if tt.config != "" {
				os.MkdirAll(filepath.Dir(path), 0o700)
				if err := os.WriteFile(path, []byte(tt.config), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			// A dry run reports the same and writes nothing.
			dry, err := Import(path, tt.found, tt.force, true)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := os.ReadFile(path); string(after) != tt.config {
				t.Fatalf("the dry run changed the file:\n%s", after)
			}
			res, err := Import(path, tt.found, tt.force, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []ImportResult{dry, res} {
				if g := foundNames(r.Added); g != strings.Join(tt.wantAdded, ",") {
					t.Errorf("added %s, want %v", g, tt.wantAdded)
				}
				if g := foundNames(r.Replaced); g != strings.Join(tt.wantReplaced, ",") {
					t.Errorf("replaced %s, want %v", g, tt.wantReplaced)
				}
				var skipped []string
				for _, s := range r.Skipped {
					skipped = append(skipped, s.Name)
					if s.Why == "" {
						t.Errorf("%s skipped without a reason", s.Name)
					}
				}
				if g := strings.Join(skipped, ","); g != strings.Join(tt.wantSkipped, ",") {
					t.Errorf("skipped %s, want %v", g, tt.wantSkipped)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatalf("the file no longer parses: %v\n%s", err, data)
			}
			for name, want := range tt.wantServers {
				if g := f.Servers[name].Command + f.Servers[name].URL; g != want {
					t.Errorf("%s is %q, want %q", name, g, want)
				}
			}
			if len(f.Servers) != len(tt.wantServers) {
				t.Errorf("servers %v, want %v", f.Names(), tt.wantServers)
			}
			top, _ := parseObject(data)
			if g := strings.Join(top.keys, " "); g != tt.wantKeysInFile {
				t.Errorf("keys %q, want %q", g, tt.wantKeysInFile)
			}
			if st, _ := os.Stat(path); tt.config == "" && st.Mode().Perm() != 0o600 || tt.config != "" && st.Mode().Perm() != 0o640 && len(res.Added)+len(res.Replaced) > 0 {
				t.Errorf("mode %v", st.Mode().Perm())
			}
		})
	}
}

func TestImportLeavesABadConfigAlone(t *testing.T) {
	for _, bad := range []string{`{"model": `, `[1]`, `{"mcpServers": {"x": {}}}`, `{"mcpServers": 3}`, `{} {}`} {
		path := filepath.Join(t.TempDir(), "config.json")
		os.WriteFile(path, []byte(bad), 0o600)
		_, err := Import(path, []Found{{Name: "a", Config: ServerConfig{Command: "a"}}}, true, false)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file", bad, err)
		}
		if after, _ := os.ReadFile(path); string(after) != bad {
			t.Errorf("%s: the file became %s", bad, after)
		}
	}
}

func foundNames(fs []Found) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Name)
	}
	return strings.Join(s, ",")
}
