package mcpclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// ServerConfig is one entry of an mcpServers list, as desktop assistants
// write it: a command for stdio, or a URL for streamable HTTP. Fields other
// assistants add (autoApprove, alwaysAllow, …) are ignored: consent is
// Loom's approver's to ask.
type ServerConfig struct {
	// Type is "stdio" or "http" ("streamable-http", "streamableHttp");
	// empty means stdio when Command is set, http when URL is.
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// Cwd is the folder the command runs in; relative to the workspace
	// root, which is also the default.
	Cwd     string            `json:"cwd,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Disabled leaves the server out.
	Disabled bool `json:"disabled,omitempty"`
	// EnabledTools, when given, are the only tools offered (the server's
	// own names); DisabledTools are never offered.
	EnabledTools  []string `json:"enabledTools,omitempty"`
	DisabledTools []string `json:"disabledTools,omitempty"`
	// Timeout ends a call when the server has sent nothing for it (no
	// progress, no answer) for this long: "90s", "10m" or seconds; zero
	// means DefaultTimeout.
	Timeout Duration `json:"timeout,omitempty"`
}

// DefaultTimeout is how long a call may go without a word from its
// server: generous, since a tool that reports no progress may work long.
const DefaultTimeout = 10 * time.Minute

// Duration is a duration written as "90s" or as a number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("timeout %q: want a positive duration such as \"90s\" or \"10m\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil || n <= 0 {
		return fmt.Errorf("timeout %s: want a positive duration such as \"90s\", or seconds", b)
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Transport names the kinds of server.
const (
	Stdio = "stdio"
	HTTP  = "http"
)

// transport is the kind of server c describes, checked.
func (c ServerConfig) transport() (string, error) {
	switch c.Type {
	case "", Stdio, HTTP, "streamable-http", "streamableHttp":
	case "sse":
		return "", errors.New(`type "sse" (the deprecated HTTP+SSE transport) is not supported: use the server's streamable HTTP endpoint`)
	default:
		return "", fmt.Errorf("type %q: want \"stdio\" or \"http\"", c.Type)
	}
	switch {
	case c.Command != "" && c.URL != "":
		return "", errors.New(`give either "command" (stdio) or "url" (streamable HTTP), not both`)
	case c.Command != "" && (c.Type == "" || c.Type == Stdio):
		return Stdio, nil
	case c.URL != "" && c.Type != Stdio:
		return HTTP, nil
	case c.Type == Stdio || c.Type == "":
		return "", errors.New(`"command" is required`)
	default:
		return "", errors.New(`"url" is required`)
	}
}

// timeout is the call inactivity bound.
func (c ServerConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return DefaultTimeout
}

// offers reports whether the server's tool named name is offered.
func (c ServerConfig) offers(name string) bool {
	if len(c.EnabledTools) > 0 && !slices.Contains(c.EnabledTools, name) {
		return false
	}
	return !slices.Contains(c.DisabledTools, name)
}

// serverName is what a server may be called: it becomes the start of its
// tools' names, which providers restrict to these characters.
var serverName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`) })

// File is an mcpServers list, parsed and checked.
type File struct {
	Servers map[string]ServerConfig `json:"mcpServers"`
}

// Names lists the servers, sorted.
func (f File) Names() []string {
	names := make([]string, 0, len(f.Servers))
	for n := range f.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse reads the mcpServers key of a JSON object (other keys are
// ignored) and checks every server, naming the first one that is wrong.
func Parse(data []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return File{}, err
	}
	if err := f.Check(); err != nil {
		return File{}, err
	}
	return f, nil
}

// Check checks every server, naming the first one that is wrong.
func (f File) Check() error {
	for _, name := range f.Names() {
		if !serverName().MatchString(name) {
			return fmt.Errorf("server %s: a name is 1 to 64 letters, digits, _ or -", strconv.Quote(name))
		}
		if _, err := f.Servers[name].transport(); err != nil {
			return fmt.Errorf("server %s: %w", name, err)
		}
	}
	return nil
}

// ServerName turns a name given by a person (an ACP client's "Everything
// Server") into one a server may have: other characters become _, and it
// is cut to 64.
func ServerName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "mcp"
	}
	return string(b)
}

// maxConfigSize bounds a server list: a repository's is read before the
// user said anything about it.
const maxConfigSize = 1 << 20

// LoadUser reads the mcpServers of Loom's config file at path (see
// llm.ConfigPath). A missing file or key is no servers; a malformed one
// is an error naming the file.
func LoadUser(path string) (File, error) {
	if path == "" {
		return File{}, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return File{}, nil
	}
	if err != nil {
		return File{}, err
	}
	if len(data) > maxConfigSize {
		return File{}, fmt.Errorf("%s: over %d bytes", path, maxConfigSize)
	}
	f, err := Parse(data)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// RepoFile is where a repository lists its servers, relative to its root.
var RepoFile = filepath.Join(".loom", "mcp.json")
