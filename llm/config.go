package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultBaseURL is used when no base URL is configured.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config says which model to use and where. It is also the JSON shape of the
// config file ($XDG_CONFIG_HOME/loom/config.json); other top-level keys of
// that file are ignored here.
type Config struct {
	Model   string `json:"model,omitempty"`
	BaseURL string `json:"base_url,omitempty"`
	APIKey  string `json:"api_key,omitempty"`
	// HTTPClient replaces the default HTTP client (for tests or proxies).
	HTTPClient *http.Client `json:"-"`
}

// String shows the configuration without the API key, so it can be logged.
func (c Config) String() string {
	key := "(none)"
	if c.APIKey != "" {
		key = "(set)"
	}
	return fmt.Sprintf("model=%q base_url=%q api_key=%s", c.Model, c.BaseURL, key)
}

// ErrNoModel is returned (wrapped, with instructions) when no model is
// configured anywhere. Test for it with errors.Is.
var ErrNoModel = errors.New("llm: no model configured")

// LoadConfig resolves the configuration. Each field comes from the first
// place that sets it: flags (non-empty fields of the argument), then the
// environment (LOOM_MODEL; LOOM_BASE_URL, then OPENAI_BASE_URL; LOOM_API_KEY,
// then OPENAI_API_KEY), then the config file (see ConfigPath). BaseURL
// defaults to DefaultBaseURL. A missing config file is fine; a malformed one
// is an error naming it.
func LoadConfig(flags Config) (Config, error) {
	return loadConfig(flags, osEnv)
}

// ConfigPath is the config file's path: $XDG_CONFIG_HOME/loom/config.json,
// else ~/.config/loom/config.json, or "" when neither variable is usable.
func ConfigPath() string { return configPath(osEnv) }

// getenv lets tests supply an environment without touching the process's.
type getenv func(string) string

var osEnv getenv = os.Getenv

func configPath(env getenv) string {
	// The XDG spec says relative values are invalid and must be ignored.
	if x := env("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "loom", "config.json")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".config", "loom", "config.json")
	}
	return ""
}

func loadConfig(flags Config, env getenv) (Config, error) {
	path := configPath(env)
	file, err := readConfigFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Model:      first(flags.Model, env("LOOM_MODEL"), file.Model),
		BaseURL:    first(flags.BaseURL, env("LOOM_BASE_URL"), env("OPENAI_BASE_URL"), file.BaseURL, DefaultBaseURL),
		APIKey:     first(flags.APIKey, env("LOOM_API_KEY"), env("OPENAI_API_KEY"), file.APIKey),
		HTTPClient: flags.HTTPClient,
	}
	if cfg.Model == "" {
		return cfg, noModelError(path)
	}
	return cfg, nil
}

func readConfigFile(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("llm: reading config file: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("llm: config file %s is not valid JSON (%v); expected for example %s", path, err, exampleConfigJSON)
	}
	return c, nil
}

const exampleConfigJSON = `{"model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "api_key": "sk-..."}`

func noModelError(path string) error {
	if path == "" {
		path = "$XDG_CONFIG_HOME/loom/config.json (or ~/.config/loom/config.json)"
	}
	return fmt.Errorf(`%w. Loom needs a model served by an OpenAI-compatible API; configure one in any of these ways:
  - the environment: LOOM_MODEL=<model>, plus LOOM_BASE_URL (or OPENAI_BASE_URL) for a server other than OpenAI,
    and LOOM_API_KEY (or OPENAI_API_KEY) if the server needs a key
  - the config file %s:
      %s
  - a local model with Ollama:
      ollama pull qwen2.5-coder
      export LOOM_MODEL=qwen2.5-coder LOOM_BASE_URL=http://localhost:11434/v1`, ErrNoModel, path, exampleConfigJSON)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
