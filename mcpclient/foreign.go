package mcpclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Assistant names another assistant whose MCP server list Loom can import.
type Assistant string

const (
	ClaudeDesktop Assistant = "claude-desktop"
	ClaudeCode    Assistant = "claude-code"
	Codex         Assistant = "codex"
)

// Assistants are those Loom imports from, in the order it reads them.
var Assistants = []Assistant{ClaudeDesktop, ClaudeCode, Codex}

// Found is one server read from another assistant's list.
type Found struct {
	Name   string
	Config ServerConfig
	// From is the file it was read from.
	From string
	// Notes name what of it Loom does not carry over.
	Notes []string
	// Err says why it cannot be imported at all.
	Err error
}

// maxForeignSize bounds another assistant's file: ~/.claude.json also
// holds Claude Code's history, so it may be large, but not unbounded.
const maxForeignSize = 64 << 20

// ReadAssistant reads the servers a listed in the files it keeps under
// home (and, for Claude Code, those of the project at root). A missing
// file is no servers; one that cannot be parsed is an error naming it.
func ReadAssistant(a Assistant, home, root string) ([]Found, error) {
	switch a {
	case ClaudeDesktop:
		return readClaudeFile(claudeDesktopPath(home), nil)
	case ClaudeCode:
		return readClaudeCode(home, root)
	case Codex:
		return readCodex(home)
	}
	return nil, fmt.Errorf("unknown assistant %q: want one of %s", a, assistantNames())
}

func assistantNames() string {
	var s []string
	for _, a := range Assistants {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}

// claudeDesktopPath is where Claude Desktop keeps its configuration.
func claudeDesktopPath(home string) string {
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Application Support", "Claude", "claude_desktop_config.json")
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "Claude", "claude_desktop_config.json")
	}
	return filepath.Join(home, ".config", "Claude", "claude_desktop_config.json")
}

// readForeign reads path, nil when it does not exist.
func readForeign(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	} else if st.Size() > maxForeignSize {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxForeignSize)
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// claudeServer is an entry of Claude Desktop's and Claude Code's lists.
type claudeServer struct {
	Type    string            `json:"type"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
	Cwd     string            `json:"cwd"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// readClaudeFile reads the mcpServers of a Claude JSON file and, when
// project is given, of projects[project] in it too.
func readClaudeFile(path string, project *string) ([]Found, error) {
	data, err := readForeign(path)
	if data == nil || err != nil {
		return nil, err
	}
	var doc struct {
		Servers  map[string]claudeServer `json:"mcpServers"`
		Projects map[string]struct {
			Servers map[string]claudeServer `json:"mcpServers"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := claudeFound(path, doc.Servers)
	if project != nil {
		if p, ok := doc.Projects[*project]; ok {
			out = append(out, claudeFound(path+" (project "+*project+")", p.Servers)...)
		}
	}
	return out, nil
}

func claudeFound(from string, servers map[string]claudeServer) []Found {
	var out []Found
	for _, name := range sortedKeys(servers) {
		s := servers[name]
		f := Found{Name: name, From: from, Config: ServerConfig{Type: s.Type, Command: s.Command, Args: s.Args,
			Env: s.Env, Cwd: s.Cwd, URL: s.URL, Headers: s.Headers}}
		if hasExpansion(f.Config) {
			f.Notes = append(f.Notes, "holds ${VAR} references, which Claude Code expands and Loom does not: edit them in")
		}
		out = append(out, f)
	}
	return out
}

// hasExpansion reports whether c uses Claude Code's ${VAR} expansion.
func hasExpansion(c ServerConfig) bool {
	all := append([]string{c.Command, c.URL, c.Cwd}, c.Args...)
	for _, m := range []map[string]string{c.Env, c.Headers} {
		for _, v := range m {
			all = append(all, v)
		}
	}
	for _, s := range all {
		if strings.Contains(s, "${") {
			return true
		}
	}
	return false
}

// readClaudeCode reads ~/.claude.json (its own list and the project at
// root's) and root's .mcp.json.
func readClaudeCode(home, root string) ([]Found, error) {
	var project *string
	if root != "" {
		project = &root
	}
	out, err := readClaudeFile(filepath.Join(home, ".claude.json"), project)
	if err != nil {
		return nil, err
	}
	if root == "" {
		return out, nil
	}
	repo, err := readClaudeFile(filepath.Join(root, ".mcp.json"), nil)
	if err != nil {
		return nil, err
	}
	return append(out, repo...), nil
}

// codexServer is a [mcp_servers.NAME] table of Codex's config.toml.
type codexServer struct {
	Command           string            `toml:"command"`
	Args              []string          `toml:"args"`
	Env               map[string]string `toml:"env"`
	Cwd               string            `toml:"cwd"`
	URL               string            `toml:"url"`
	HTTPHeaders       map[string]string `toml:"http_headers"`
	EnvHTTPHeaders    map[string]string `toml:"env_http_headers"`
	BearerTokenEnvVar string            `toml:"bearer_token_env_var"`
	Enabled           *bool             `toml:"enabled"`
	ToolTimeoutSec    float64           `toml:"tool_timeout_sec"`
	EnabledTools      []string          `toml:"enabled_tools"`
	DisabledTools     []string          `toml:"disabled_tools"`
}

// readCodex reads $CODEX_HOME/config.toml (~/.codex by default).
func readCodex(home string) ([]Found, error) {
	dir := os.Getenv("CODEX_HOME")
	if dir == "" {
		dir = filepath.Join(home, ".codex")
	}
	path := filepath.Join(dir, "config.toml")
	data, err := readForeign(path)
	if data == nil || err != nil {
		return nil, err
	}
	var doc struct {
		Servers map[string]codexServer `toml:"mcp_servers"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Found
	for _, name := range sortedKeys(doc.Servers) {
		s := doc.Servers[name]
		f := Found{Name: name, From: path, Config: ServerConfig{Command: s.Command, Args: s.Args, Env: s.Env,
			Cwd: s.Cwd, URL: s.URL, Headers: s.HTTPHeaders, EnabledTools: s.EnabledTools, DisabledTools: s.DisabledTools}}
		if s.Enabled != nil && !*s.Enabled {
			f.Config.Disabled = true
		}
		if s.ToolTimeoutSec > 0 {
			f.Config.Timeout = Duration(s.ToolTimeoutSec * 1e9)
		}
		if s.BearerTokenEnvVar != "" {
			f.Notes = append(f.Notes, fmt.Sprintf("bearer_token_env_var %s not carried over (Loom's headers are literal): "+
				"add an Authorization header, or sign in with loom mcp-servers login %s", s.BearerTokenEnvVar, name))
		}
		if len(s.EnvHTTPHeaders) > 0 {
			f.Notes = append(f.Notes, fmt.Sprintf("env_http_headers %s not carried over (Loom's headers are literal)",
				strings.Join(sortedKeys(s.EnvHTTPHeaders), ", ")))
		}
		out = append(out, f)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
