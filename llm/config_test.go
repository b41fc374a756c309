package llm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) getenv { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, dir, content string) {
	t.Helper()
	p := filepath.Join(dir, "loom", "config.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	xdg := t.TempDir()
	writeConfig(t, xdg, `{"model":"file-model","base_url":"http://file/v1","api_key":"file-key","other_section":{"x":1}}`)
	home := t.TempDir()
	writeConfig(t, filepath.Join(home, ".config"), `{"model":"home-model"}`)
	anthropicFile := t.TempDir()
	writeConfig(t, anthropicFile, `{"provider":"anthropic","model":"claude"}`)

	tests := []struct {
		name  string
		flags Config
		env   map[string]string
		want  Config
	}{
		{
			name: "file only",
			env:  map[string]string{"XDG_CONFIG_HOME": xdg},
			want: Config{Model: "file-model", BaseURL: "http://file/v1", APIKey: "file-key"},
		},
		{
			name: "env beats file",
			env: map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_MODEL": "env-model",
				"OPENAI_BASE_URL": "http://openai-env/v1", "OPENAI_API_KEY": "openai-key"},
			want: Config{Model: "env-model", BaseURL: "http://openai-env/v1", APIKey: "openai-key"},
		},
		{
			name: "LOOM_ variables beat OPENAI_ ones",
			env: map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_BASE_URL": "http://loom-env/v1", "OPENAI_BASE_URL": "http://openai-env/v1",
				"LOOM_API_KEY": "loom-key", "OPENAI_API_KEY": "openai-key"},
			want: Config{Model: "file-model", BaseURL: "http://loom-env/v1", APIKey: "loom-key"},
		},
		{
			name:  "flags beat env",
			flags: Config{Model: "flag-model", BaseURL: "http://flag/v1", APIKey: "flag-key"},
			env:   map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_MODEL": "env-model", "LOOM_BASE_URL": "http://loom-env/v1", "LOOM_API_KEY": "loom-key"},
			want:  Config{Model: "flag-model", BaseURL: "http://flag/v1", APIKey: "flag-key"},
		},
		{
			name:  "partial flags fill in from below",
			flags: Config{Model: "flag-model"},
			env:   map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_API_KEY": "loom-key"},
			want:  Config{Model: "flag-model", BaseURL: "http://file/v1", APIKey: "loom-key"},
		},
		{
			name: "HOME fallback and default base URL",
			env:  map[string]string{"HOME": home},
			want: Config{Model: "home-model", BaseURL: DefaultBaseURL},
		},
		{
			name: "relative XDG_CONFIG_HOME is ignored",
			env:  map[string]string{"XDG_CONFIG_HOME": "relative/dir", "HOME": home},
			want: Config{Model: "home-model", BaseURL: DefaultBaseURL},
		},
		{
			name: "no HOME nor XDG: environment alone",
			env:  map[string]string{"LOOM_MODEL": "env-model"},
			want: Config{Model: "env-model", BaseURL: DefaultBaseURL},
		},
		{
			name: "missing file",
			env:  map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "LOOM_MODEL": "m"},
			want: Config{Model: "m", BaseURL: DefaultBaseURL},
		},
		{
			name: "anthropic: its default base URL, its key, never OpenAI's",
			env: map[string]string{"LOOM_PROVIDER": "Anthropic", "LOOM_MODEL": "claude",
				"OPENAI_API_KEY": "openai-key", "OPENAI_BASE_URL": "http://openai-env/v1", "ANTHROPIC_API_KEY": "anthropic-key"},
			want: Config{Provider: "anthropic", Model: "claude", BaseURL: DefaultAnthropicBaseURL, APIKey: "anthropic-key"},
		},
		{
			name: "anthropic: LOOM_ variables beat ANTHROPIC_ ones",
			env: map[string]string{"LOOM_PROVIDER": "anthropic", "LOOM_MODEL": "claude", "LOOM_API_KEY": "loom-key", "ANTHROPIC_API_KEY": "anthropic-key",
				"LOOM_BASE_URL": "http://loom-env", "ANTHROPIC_BASE_URL": "http://anthropic-env"},
			want: Config{Provider: "anthropic", Model: "claude", BaseURL: "http://loom-env", APIKey: "loom-key"},
		},
		{
			name: "anthropic: ANTHROPIC_BASE_URL",
			env:  map[string]string{"LOOM_PROVIDER": "anthropic", "LOOM_MODEL": "claude", "ANTHROPIC_BASE_URL": "http://proxy"},
			want: Config{Provider: "anthropic", Model: "claude", BaseURL: "http://proxy"},
		},
		{
			name:  "provider: flag beats env beats file",
			flags: Config{Provider: "openai"},
			env:   map[string]string{"XDG_CONFIG_HOME": anthropicFile, "LOOM_PROVIDER": "anthropic"},
			want:  Config{Provider: "openai", Model: "claude", BaseURL: DefaultBaseURL},
		},
		{
			name: "provider: env beats file",
			env:  map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_PROVIDER": "anthropic"},
			want: Config{Provider: "anthropic", Model: "file-model", BaseURL: "http://file/v1", APIKey: "file-key"},
		},
		{
			name: "provider: from the file",
			env:  map[string]string{"XDG_CONFIG_HOME": anthropicFile, "OPENAI_API_KEY": "openai-key"},
			want: Config{Provider: "anthropic", Model: "claude", BaseURL: DefaultAnthropicBaseURL},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Provider == "" {
				tt.want.Provider = DefaultProvider
			}
			got.From = Origins{} // TestConfigOrigins
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadBounds(t *testing.T) {
	xdg := t.TempDir()
	writeConfig(t, xdg, `{"model":"m","connect_timeout":"3s","first_byte_timeout":600,"idle_timeout":"1m30s","stream_timeout":"2h","max_output_tokens":2048}`)
	fromFile := Config{Model: "m", BaseURL: DefaultBaseURL, ConnectTimeout: 3 * time.Second, FirstByteTimeout: 10 * time.Minute,
		IdleTimeout: 90 * time.Second, StreamTimeout: 2 * time.Hour, MaxOutputTokens: 2048}
	tests := []struct {
		name  string
		flags Config
		env   map[string]string
		want  Config
	}{
		{
			name: "unset: zero, which means the defaults",
			env:  map[string]string{"LOOM_MODEL": "m"},
			want: Config{Model: "m", BaseURL: DefaultBaseURL},
		},
		{
			name: "file: durations as strings or seconds",
			env:  map[string]string{"XDG_CONFIG_HOME": xdg},
			want: fromFile,
		},
		{
			name: "env beats file",
			env: map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_CONNECT_TIMEOUT": "0.5", "LOOM_FIRST_BYTE_TIMEOUT": "20m",
				"LOOM_IDLE_TIMEOUT": " 45s ", "LOOM_STREAM_TIMEOUT": "90", "LOOM_MAX_OUTPUT_TOKENS": "512"},
			want: Config{Model: "m", BaseURL: DefaultBaseURL, ConnectTimeout: 500 * time.Millisecond, FirstByteTimeout: 20 * time.Minute,
				IdleTimeout: 45 * time.Second, StreamTimeout: 90 * time.Second, MaxOutputTokens: 512},
		},
		{
			name:  "flags beat env",
			flags: Config{IdleTimeout: time.Second, MaxOutputTokens: 7},
			env:   map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_IDLE_TIMEOUT": "45s", "LOOM_MAX_OUTPUT_TOKENS": "512"},
			want: Config{Model: "m", BaseURL: DefaultBaseURL, ConnectTimeout: 3 * time.Second, FirstByteTimeout: 10 * time.Minute,
				IdleTimeout: time.Second, StreamTimeout: 2 * time.Hour, MaxOutputTokens: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Provider == "" {
				tt.want.Provider = DefaultProvider
			}
			got.From = Origins{} // TestConfigOrigins
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A bound that is not a positive number is an error naming where it was
// written, rather than a silent default.
func TestBadBounds(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		mention []string
	}{
		{name: "env word", env: map[string]string{"LOOM_IDLE_TIMEOUT": "soon"}, mention: []string{"LOOM_IDLE_TIMEOUT", `"soon"`, "90s, 5m or a number of seconds"}},
		{name: "env zero", env: map[string]string{"LOOM_CONNECT_TIMEOUT": "0"}, mention: []string{"LOOM_CONNECT_TIMEOUT", "positive"}},
		{name: "env negative", env: map[string]string{"LOOM_STREAM_TIMEOUT": "-1m"}, mention: []string{"LOOM_STREAM_TIMEOUT", "positive"}},
		{name: "env overflow", env: map[string]string{"LOOM_FIRST_BYTE_TIMEOUT": "1e300"}, mention: []string{"LOOM_FIRST_BYTE_TIMEOUT"}},
		{name: "env NaN", env: map[string]string{"LOOM_FIRST_BYTE_TIMEOUT": "NaN"}, mention: []string{"LOOM_FIRST_BYTE_TIMEOUT"}},
		{name: "env tokens", env: map[string]string{"LOOM_MAX_OUTPUT_TOKENS": "lots"}, mention: []string{"LOOM_MAX_OUTPUT_TOKENS", "positive whole number"}},
		{name: "file word", file: `{"model":"m","idle_timeout":"soon"}`, mention: []string{`"idle_timeout"`, "config.json", "90s, 5m"}},
		{name: "file object", file: `{"model":"m","first_byte_timeout":{}}`, mention: []string{`"first_byte_timeout"`}},
		{name: "file negative tokens", file: `{"model":"m","max_output_tokens":-5}`, mention: []string{`"max_output_tokens"`, "positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xdg := t.TempDir()
			if tt.file != "" {
				writeConfig(t, xdg, tt.file)
			}
			env := map[string]string{"XDG_CONFIG_HOME": xdg, "LOOM_MODEL": "m"}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := loadConfig(Config{}, envOf(env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message lacks %q: %v", m, err)
				}
			}
		})
	}
}

func TestNoModelMessage(t *testing.T) {
	xdg := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		path string
	}{
		{"with XDG", map[string]string{"XDG_CONFIG_HOME": xdg}, filepath.Join(xdg, "loom", "config.json")},
		{"with nothing", map[string]string{}, "$XDG_CONFIG_HOME/loom/config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(Config{}, envOf(tt.env))
			if !errors.Is(err, ErrNoModel) {
				t.Fatalf("error %v, want ErrNoModel", err)
			}
			for _, m := range []string{
				"LOOM_MODEL", "LOOM_BASE_URL", "OPENAI_BASE_URL", "LOOM_API_KEY", "OPENAI_API_KEY",
				tt.path, `{"model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "api_key": "sk-..."}`,
				"ollama pull qwen2.5-coder", "LOOM_MODEL=qwen2.5-coder LOOM_BASE_URL=http://localhost:11434/v1",
			} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message lacks %q:\n%v", m, err)
				}
			}
		})
	}
}

func TestMalformedConfigFile(t *testing.T) {
	xdg := t.TempDir()
	writeConfig(t, xdg, `{"model": "m",`)
	_, err := loadConfig(Config{Model: "flag"}, envOf(map[string]string{"XDG_CONFIG_HOME": xdg}))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(xdg, "loom", "config.json")) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("got %v", err)
	}
	writeConfig(t, xdg, `{"model": 42}`)
	if _, err := loadConfig(Config{}, envOf(map[string]string{"XDG_CONFIG_HOME": xdg})); err == nil {
		t.Error("a model that is not a string was accepted")
	}
}

func TestConfigStringHidesKey(t *testing.T) {
	s := Config{Model: "m", BaseURL: "u", APIKey: "sk-secret"}.String()
	if strings.Contains(s, "sk-secret") || !strings.Contains(s, "(set)") {
		t.Errorf("String() = %s", s)
	}
}

// An unknown provider, wherever it is written, is an error that lists the
// known ones; New refuses it too.
func TestUnknownProvider(t *testing.T) {
	xdg := t.TempDir()
	writeConfig(t, xdg, `{"provider":"gemini","model":"m"}`)
	for name, env := range map[string]map[string]string{
		"env":  {"LOOM_PROVIDER": "openia", "LOOM_MODEL": "m"},
		"file": {"XDG_CONFIG_HOME": xdg},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(Config{}, envOf(env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{"unknown provider", "openai, anthropic", "LOOM_PROVIDER", "--provider"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}
	if _, err := New(Config{Provider: "gemini", Model: "m"}); err == nil || !strings.Contains(err.Error(), "openai, anthropic") {
		t.Errorf("New: %v", err)
	}
}

// New builds the provider its configuration names.
func TestNewChoosesProvider(t *testing.T) {
	for _, tt := range []struct {
		provider string
		want     string
	}{{"", "*llm.OpenAI"}, {"openai", "*llm.OpenAI"}, {"anthropic", "*llm.Anthropic"}, {" ANTHROPIC ", "*llm.Anthropic"}} {
		p, err := New(Config{Provider: tt.provider, Model: "m"})
		if err != nil {
			t.Fatalf("%q: %v", tt.provider, err)
		}
		if got := fmt.Sprintf("%T", p); got != tt.want {
			t.Errorf("provider %q built %s, want %s", tt.provider, got, tt.want)
		}
	}
}

// TestConfigOrigins: each loaded value says where it came from, and a
// base URL that cannot be used is blamed on that place, not on a variable
// nobody set.
func TestConfigOrigins(t *testing.T) {
	xdg := t.TempDir()
	writeConfig(t, xdg, `{"model": "file-model", "base_url": "localhost:11434"}`)
	path := filepath.Join(xdg, "loom", "config.json")
	for _, tt := range []struct {
		name  string
		flags Config
		env   map[string]string
		want  Origins
		hint  string // in the error of llm.New
	}{
		{name: "file", env: map[string]string{},
			want: Origins{Provider: "the default", Model: `"model" in ` + path, BaseURL: `"base_url" in ` + path},
			hint: `set by "base_url" in ` + path},
		{name: "environment", env: map[string]string{"LOOM_MODEL": "m", "OPENAI_BASE_URL": "bad", "OPENAI_API_KEY": "k", "LOOM_PROVIDER": "openai"},
			want: Origins{Provider: "LOOM_PROVIDER", Model: "LOOM_MODEL", BaseURL: "OPENAI_BASE_URL", APIKey: "OPENAI_API_KEY"},
			hint: "set by OPENAI_BASE_URL"},
		{name: "flags", flags: Config{Provider: "anthropic", Model: "m", BaseURL: "nope"}, env: map[string]string{"LOOM_MODEL": "x"},
			want: Origins{Provider: "--provider", Model: "--model", BaseURL: "--base-url"}, hint: "set by --base-url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["XDG_CONFIG_HOME"] = xdg
			got, err := loadConfig(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got.From != tt.want {
				t.Errorf("origins\n got %+v\nwant %+v", got.From, tt.want)
			}
			_, err = New(got)
			if err == nil || !strings.Contains(err.Error(), tt.hint) || strings.Contains(err.Error(), "LOOM_BASE_URL") {
				t.Errorf("New: %v, want %q and no LOOM_BASE_URL", err, tt.hint)
			}
		})
	}
}

// TestUnknownConfigKeys: keys Loom does not read are named with the known
// key nearest to them; known keys, in any case, are not.
func TestUnknownConfigKeys(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []UnknownKey
		err        string
	}{
		{name: "none", file: `{"model": "m", "Base_URL": "http://x", "mcpServers": {}}`},
		{name: "typos", file: `{"baseurl": "http://x", "modl": "m", "modle": "m", "api-key": "k", "zzz": 1}`,
			want: []UnknownKey{{"baseurl", "base_url"}, {"modl", "model"}, {"modle", "model"}, {"api-key", "api_key"}, {"zzz", ""}}},
		{name: "not an object", file: `[1]`, err: "not a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := UnknownConfigKeys(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("UnknownConfigKeys = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if got, err := UnknownConfigKeys(filepath.Join(t.TempDir(), "missing.json")); got != nil || err != nil {
		t.Errorf("missing file: %v, %v", got, err)
	}
}
