package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sahilm/fuzzy"
)

// The base URLs used when none is configured, by provider.
const (
	DefaultBaseURL          = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
)

// Config says which model to use, where, and how long to wait for it. The
// config file ($XDG_CONFIG_HOME/loom/config.json) holds the same fields under
// the keys named in each comment; other top-level keys of that file are
// ignored here.
type Config struct {
	// Provider names the API spoken ("provider", LOOM_PROVIDER): "openai"
	// (the default: OpenAI and every server compatible with it) or
	// "anthropic"; see ProviderNames.
	Provider string
	Model    string // "model"
	BaseURL  string // "base_url"
	APIKey   string // "api_key"

	// The bounds on one model call; zero means the default (Default*).
	// In the file and the environment a duration is written as "90s", "5m"
	// or a number of seconds.
	//
	// ConnectTimeout bounds opening the connection, TLS included
	// ("connect_timeout", LOOM_CONNECT_TIMEOUT).
	ConnectTimeout time.Duration
	// FirstByteTimeout bounds the wait from sending a request to the first
	// byte of the answer's body, which a local model may only send once it
	// has read the whole prompt ("first_byte_timeout", LOOM_FIRST_BYTE_TIMEOUT).
	FirstByteTimeout time.Duration
	// IdleTimeout bounds the silence between two parts of a streamed answer
	// ("idle_timeout", LOOM_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// StreamTimeout bounds a whole answer, so an endless stream ends
	// ("stream_timeout", LOOM_STREAM_TIMEOUT).
	StreamTimeout time.Duration
	// MaxOutputTokens is the output cap sent with each request that does
	// not set its own ("max_output_tokens", LOOM_MAX_OUTPUT_TOKENS); zero
	// means DefaultMaxOutputTokens, or DefaultMaxReasoningTokens for
	// OpenAI's reasoning models, whose cap includes their reasoning.
	MaxOutputTokens int

	// From says where LoadConfig found each value; empty in a Config built
	// by hand. Errors about the value name it rather than guess.
	From Origins

	// HTTPClient replaces the default HTTP client (for tests or proxies).
	// Its Transport, when set, is used as is: ConnectTimeout applies only
	// to the transport Loom builds.
	HTTPClient *http.Client
}

// The defaults suit a slow local model: a CPU may read a long prompt for
// minutes before the first token, and some servers (Ollama with tools) send
// a tool call only once it is complete, so the stream can be silent for as
// long as writing a whole file takes.
const (
	DefaultConnectTimeout     = 10 * time.Second
	DefaultFirstByteTimeout   = 5 * time.Minute
	DefaultIdleTimeout        = 5 * time.Minute
	DefaultStreamTimeout      = 60 * time.Minute
	DefaultMaxOutputTokens    = 8192
	DefaultMaxReasoningTokens = 32768
)

// String shows the configuration without the API key, so it can be logged.
func (c Config) String() string {
	key := "(none)"
	if c.APIKey != "" {
		key = "(set)"
	}
	return fmt.Sprintf("provider=%q model=%q base_url=%q api_key=%s", c.Provider, c.Model, c.BaseURL, key)
}

// Origins says where each value of a loaded Config came from: "--model"
// and the like for a flag, an environment variable's name, `"model" in
// PATH` for the config file, "the default" for a built-in value, or ""
// when nothing set it.
type Origins struct {
	Provider, Model, BaseURL, APIKey string
}

// baseURLOrigin names where the base URL was set, for hints: the place
// LoadConfig found it, else every place it could be set.
func (o Origins) baseURLOrigin() string {
	if o.BaseURL == "" || o.BaseURL == originDefault {
		return "--base-url, LOOM_BASE_URL (or OPENAI_BASE_URL, ANTHROPIC_BASE_URL) or \"base_url\" in the loom config file"
	}
	return o.BaseURL
}

const originDefault = "the default"

// withDefaults fills the zero bounds.
func (c Config) withDefaults() Config {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&c.ConnectTimeout, DefaultConnectTimeout)
	set(&c.FirstByteTimeout, DefaultFirstByteTimeout)
	set(&c.IdleTimeout, DefaultIdleTimeout)
	set(&c.StreamTimeout, DefaultStreamTimeout)
	return c
}

// ErrNoModel is returned (wrapped, with instructions) when no model is
// configured anywhere. Test for it with errors.Is.
var ErrNoModel = errors.New("llm: no model configured")

// LoadConfig resolves the configuration. Each field comes from the first
// place that sets it: flags (non-zero fields of the argument), then the
// environment (LOOM_PROVIDER; LOOM_MODEL; LOOM_BASE_URL, then the provider's
// own variable, OPENAI_BASE_URL or ANTHROPIC_BASE_URL; LOOM_API_KEY, then
// OPENAI_API_KEY or ANTHROPIC_API_KEY; LOOM_CONNECT_TIMEOUT,
// LOOM_FIRST_BYTE_TIMEOUT, LOOM_IDLE_TIMEOUT, LOOM_STREAM_TIMEOUT,
// LOOM_MAX_OUTPUT_TOKENS), then the config file (see ConfigPath). Provider
// defaults to DefaultProvider and BaseURL to the provider's default
// (DefaultBaseURL, DefaultAnthropicBaseURL); the bounds stay zero (their
// defaults) when nothing sets them. A missing config file is fine; a
// malformed one, an unknown provider, or a bound that is not a positive
// number, is an error naming where it was written.
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
	inFile := func(key string) string { return fmt.Sprintf("%q in %s", key, path) }
	name, provFrom := firstOf(flags.Provider, "--provider", env("LOOM_PROVIDER"), "LOOM_PROVIDER", file.Provider, inFile("provider"))
	prov, err := lookupProvider(name)
	if err != nil {
		if provFrom != "" {
			return Config{}, fmt.Errorf("%w (from %s)", err, provFrom)
		}
		return Config{}, err
	}
	if provFrom == "" {
		provFrom = originDefault
	}
	cfg := Config{Provider: prov.name, HTTPClient: flags.HTTPClient}
	cfg.From.Provider = provFrom
	cfg.Model, cfg.From.Model = firstOf(flags.Model, "--model", env("LOOM_MODEL"), "LOOM_MODEL", file.Model, inFile("model"))
	cfg.BaseURL, cfg.From.BaseURL = firstOf(flags.BaseURL, "--base-url", env("LOOM_BASE_URL"), "LOOM_BASE_URL",
		env(prov.baseURLEnv), prov.baseURLEnv, file.BaseURL, inFile("base_url"), prov.defaultBaseURL, originDefault)
	cfg.APIKey, cfg.From.APIKey = firstOf(flags.APIKey, "the command", env("LOOM_API_KEY"), "LOOM_API_KEY",
		env(prov.apiKeyEnv), prov.apiKeyEnv, file.APIKey, inFile("api_key"))
	durations := []struct {
		dst  *time.Duration
		flag time.Duration
		env  string
		file json.RawMessage
		key  string
	}{
		{&cfg.ConnectTimeout, flags.ConnectTimeout, "LOOM_CONNECT_TIMEOUT", file.ConnectTimeout, "connect_timeout"},
		{&cfg.FirstByteTimeout, flags.FirstByteTimeout, "LOOM_FIRST_BYTE_TIMEOUT", file.FirstByteTimeout, "first_byte_timeout"},
		{&cfg.IdleTimeout, flags.IdleTimeout, "LOOM_IDLE_TIMEOUT", file.IdleTimeout, "idle_timeout"},
		{&cfg.StreamTimeout, flags.StreamTimeout, "LOOM_STREAM_TIMEOUT", file.StreamTimeout, "stream_timeout"},
	}
	for _, d := range durations {
		switch v := strings.TrimSpace(env(d.env)); {
		case d.flag > 0:
			*d.dst = d.flag
		case v != "":
			if *d.dst, err = parseSeconds(v); err != nil {
				return Config{}, fmt.Errorf("llm: %s=%q: %w", d.env, v, err)
			}
		case len(d.file) > 0 && string(d.file) != "null":
			if *d.dst, err = parseFileSeconds(d.file); err != nil {
				return Config{}, fmt.Errorf("llm: config file %s: %q: %w", path, d.key, err)
			}
		}
	}
	cfg.MaxOutputTokens = flags.MaxOutputTokens
	if cfg.MaxOutputTokens <= 0 {
		if v := strings.TrimSpace(env("LOOM_MAX_OUTPUT_TOKENS")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return Config{}, fmt.Errorf("llm: LOOM_MAX_OUTPUT_TOKENS=%q: not a positive whole number of tokens", v)
			}
			cfg.MaxOutputTokens = n
		} else if file.MaxOutputTokens < 0 {
			return Config{}, fmt.Errorf("llm: config file %s: \"max_output_tokens\" must be a positive number of tokens", path)
		} else {
			cfg.MaxOutputTokens = file.MaxOutputTokens
		}
	}
	if cfg.Model == "" {
		return cfg, noModelError(path)
	}
	return cfg, nil
}

// fileConfig is the config file's JSON shape. Durations are kept raw and
// read by parseFileSeconds, so a bad one is reported with its key.
type fileConfig struct {
	Provider         string          `json:"provider"`
	Model            string          `json:"model"`
	BaseURL          string          `json:"base_url"`
	APIKey           string          `json:"api_key"`
	ConnectTimeout   json.RawMessage `json:"connect_timeout"`
	FirstByteTimeout json.RawMessage `json:"first_byte_timeout"`
	IdleTimeout      json.RawMessage `json:"idle_timeout"`
	StreamTimeout    json.RawMessage `json:"stream_timeout"`
	MaxOutputTokens  int             `json:"max_output_tokens"`
}

// parseFileSeconds reads a duration of the config file: a string as
// parseSeconds takes it, or a bare number of seconds.
func parseFileSeconds(raw json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	return parseSeconds(s)
}

// parseSeconds reads a positive duration written as a Go duration ("90s",
// "1m30s") or a number of seconds ("90", "0.5").
func parseSeconds(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || !(f < float64(1<<62)/float64(time.Second)) {
			return 0, errors.New("not a duration: write it as 90s, 5m or a number of seconds")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("the duration must be positive")
	}
	return d, nil
}

func readConfigFile(path string) (fileConfig, error) {
	var c fileConfig
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

// UnknownKey is a top-level key of the config file that Loom does not
// read, with the known key nearest to it ("" when none is near).
type UnknownKey struct{ Key, Nearest string }

func (k UnknownKey) String() string {
	if k.Nearest == "" {
		return fmt.Sprintf("unknown key %q", k.Key)
	}
	return fmt.Sprintf("unknown key %q (did you mean %q?)", k.Key, k.Nearest)
}

// otherConfigKeys are the config file's keys other packages read.
var otherConfigKeys = []string{"mcpServers", "$schema"} // mcpclient's list; an editor's schema

// ConfigKeys are the top-level keys the config file may hold.
func ConfigKeys() []string {
	t := reflect.TypeFor[fileConfig]()
	keys := make([]string, 0, t.NumField()+len(otherConfigKeys))
	for i := range t.NumField() {
		keys = append(keys, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return append(keys, otherConfigKeys...)
}

// UnknownConfigKeys lists the keys of the config file at path that Loom
// does not read (a typo such as "baseurl" would otherwise be ignored in
// silence), in the file's order. A missing file has none; an unreadable
// or malformed one is an error.
func UnknownConfigKeys(path string) ([]UnknownKey, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("config file %s is not a JSON object", path)
	}
	known := ConfigKeys()
	var unknown []UnknownKey
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		key, _ := tok.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		// encoding/json matches keys without regard to case, so those are read.
		if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, key) }) {
			unknown = append(unknown, UnknownKey{Key: key, Nearest: nearestKey(key, known)})
		}
	}
	return unknown, nil
}

// nearestKey is the known key a typo most likely meant: the same once case,
// "_" and "-" are ignored, else the same letters swapped ("modle"), else
// the best fuzzy match of its letters in order ("baseurl").
func nearestKey(key string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	letters := func(s string) string {
		b := []byte(norm(s))
		slices.Sort(b)
		return string(b)
	}
	for _, same := range []func(string) string{norm, letters} {
		for _, k := range known {
			if same(k) == same(key) {
				return k
			}
		}
	}
	if m := fuzzy.Find(norm(key), known); len(m) > 0 {
		return m[0].Str
	}
	return ""
}

const exampleConfigJSON = `{"model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1", "api_key": "sk-..."}`

func noModelError(path string) error {
	if path == "" {
		path = "$XDG_CONFIG_HOME/loom/config.json (or ~/.config/loom/config.json)"
	}
	return fmt.Errorf(`%w. Loom needs a model served by an OpenAI-compatible API or Anthropic's; configure one in any of these ways:
  - the environment: LOOM_MODEL=<model>, plus LOOM_BASE_URL (or OPENAI_BASE_URL) for a server other than OpenAI,
    and LOOM_API_KEY (or OPENAI_API_KEY) if the server needs a key
  - Anthropic's API: LOOM_PROVIDER=anthropic LOOM_MODEL=claude-sonnet-4-5 ANTHROPIC_API_KEY=<key>
  - the config file %s:
      %s
  - a local model with Ollama:
      ollama pull qwen2.5-coder
      export LOOM_MODEL=qwen2.5-coder LOOM_BASE_URL=http://localhost:11434/v1`, ErrNoModel, path, exampleConfigJSON)
}

// firstOf is the first of value, origin pairs whose value is set, and its
// origin; "", "" when none is.
func firstOf(pairs ...string) (value, origin string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := strings.TrimSpace(pairs[i]); v != "" {
			return v, pairs[i+1]
		}
	}
	return "", ""
}
