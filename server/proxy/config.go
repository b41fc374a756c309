package proxy

import (
	"context"
	"net/http"
	"regexp"
	"sync"

	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"net/url"
	"os"
	"strings"
	"time"
)

// The kinds of upstream, by the wire format they speak.
const (
	KindOpenAI           = "openai"
	KindAnthropic        = "anthropic"
	KindOpenAICompatible = "openai-compatible"
	// KindVertex is Google Vertex AI, signed in with a service account:
	// its OpenAI-compatible endpoint (Gemini and the other models it
	// serves in that format), and for a model whose name begins with
	// "claude-" Anthropic's Messages format through rawPredict and
	// streamRawPredict.
	KindVertex = "vertex"
)

// Config is the `proxy` section of the server's configuration: the model
// servers the proxy calls (upstreams) and the models it exposes.
type Config struct {
	Upstreams []Upstream `json:"upstreams"`
	Models    []Model    `json:"models"`
	// MaxRequestBytes caps a client's request body (default 32 MiB: a
	// conversation with images).
	MaxRequestBytes int64 `json:"max_request_bytes"`
	// ConnectTimeout bounds dialling and TLS (default 10s); FirstByteTimeout
	// the wait for the upstream's answer to begin (default 5m: an answer
	// that is not streamed begins when it is whole); IdleTimeout the
	// silence between two reads of an answer (default 5m); StreamTimeout a
	// whole call (default 60m).
	ConnectTimeout   Duration `json:"connect_timeout"`
	FirstByteTimeout Duration `json:"first_byte_timeout"`
	IdleTimeout      Duration `json:"idle_timeout"`
	StreamTimeout    Duration `json:"stream_timeout"`
}

// Upstream is a model server the proxy calls.
type Upstream struct {
	// Name is how models' routes refer to it.
	Name string `json:"name"`
	// Kind is openai, anthropic or openai-compatible (Ollama, vLLM,
	// llama.cpp's server, …).
	Kind string `json:"kind"`
	// BaseURL defaults to https://api.openai.com/v1 for openai and
	// https://api.anthropic.com for anthropic; openai-compatible needs one
	// (http://127.0.0.1:11434/v1 for Ollama, say).
	BaseURL string `json:"base_url"`
	// KeyEnv names the environment variable holding the provider's key,
	// KeyFile a file holding it; at most one. Keys come only from here,
	// never from a request.
	KeyEnv  string `json:"key_env"`
	KeyFile string `json:"key_file"`
	// Project and Location name a vertex upstream's Google Cloud project
	// and region ("us-central1", or "global"); CredentialsFile is its
	// service account's JSON key, from which the proxy gets short-lived
	// access tokens (never sent anywhere but Google's token endpoint).
	// A vertex upstream's BaseURL, if given, replaces the API's root
	// (https://LOCATION-aiplatform.googleapis.com/v1): a private endpoint,
	// or a test.
	Project         string `json:"project"`
	Location        string `json:"location"`
	CredentialsFile string `json:"credentials_file"`
}

// Model is a model the proxy exposes, by Name and Aliases (what clients
// ask for; policies name it by Name), routed to its upstreams in order:
// the next is tried when one fails before the client got anything.
type Model struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"`
	Routes  []Route  `json:"routes"`
	// MaxTokens is the output cap sent to an Anthropic upstream when an
	// OpenAI-format client names none (the Messages API requires one);
	// default 4096.
	MaxTokens int `json:"max_tokens"`
}

// Route sends a model to an upstream, under the upstream's own name for it
// (default: the model's Name).
type Route struct {
	Upstream string `json:"upstream"`
	Model    string `json:"model"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "30s", "5m", ….
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration %q: must be positive", s)
	}
	*d = Duration(v)
	return nil
}

const (
	defaultMaxRequestBytes = 32 << 20
	defaultMaxTokens       = 4096
)

// upstream is an Upstream ready to call: its endpoint and its key.
type upstream struct {
	name, kind string
	url        string // of the chat-completions or messages endpoint
	key        string
	// tokens gives a vertex upstream's access tokens (cached and renewed
	// by oauth2); nil for a static key.
	tokens oauth2.TokenSource
	// vertexModels is a vertex upstream's root of Anthropic's models:
	// …/v1/projects/P/locations/L/publishers/anthropic/models.
	vertexModels string
}

// credential is what the upstream is sent: its key, or a current access
// token.
func (u *upstream) credential() (string, error) {
	if u.tokens == nil {
		return u.key, nil
	}
	t, err := u.tokens.Token()
	if err != nil {
		return "", fmt.Errorf("getting an access token for upstream %s: %w", u.name, err)
	}
	return t.AccessToken, nil
}

// format is the wire format the upstream speaks.
func (u *upstream) format() format {
	if u.kind == KindAnthropic {
		return anthropicFormat
	}
	return openAIFormat
}

// model is a Model with its routes resolved.
type model struct {
	name      string
	maxTokens int
	routes    []route
}

type route struct {
	up    *upstream
	model string
	// format is the wire format the route speaks: its upstream's, except
	// for Claude on Vertex (Anthropic's, where Gemini's is OpenAI's).
	format format
	// url and streamURL are the endpoints of a call and of a stream (they
	// differ only for Claude on Vertex: rawPredict, streamRawPredict).
	url, streamURL string
}

// vertexVersion is the anthropic_version Claude on Vertex takes, in the
// body rather than a header.
const vertexVersion = "vertex-2023-10-16"

// newRoute sends a model to up under name.
func newRoute(up *upstream, name string) route {
	if up.vertexModels != "" && strings.HasPrefix(name, "claude-") {
		// The model is in the URL, not the body (vertexBody).
		at := up.vertexModels + "/" + url.PathEscape(name)
		return route{up: up, model: name, format: anthropicFormat, url: at + ":rawPredict", streamURL: at + ":streamRawPredict"}
	}
	return route{up: up, model: name, format: up.format(), url: up.url, streamURL: up.url}
}

// vertexClaude reports whether rt is Claude on Vertex.
func (rt route) vertexClaude() bool { return rt.up.kind == KindVertex && rt.format == anthropicFormat }

// endpoint is where a call goes.
func (rt route) endpoint(stream bool) string {
	if stream {
		return rt.streamURL
	}
	return rt.url
}

// catalog is the checked configuration: models by name and alias.
type catalog struct {
	models map[string]*model // by name and by alias
	names  []string          // every name and alias, in configuration order
}

// load checks c, reads the upstreams' keys (getenv reads the environment)
// and resolves the routes. Errors name the setting, never a key.
func (c Config) load(getenv func(string) string) (*catalog, error) {
	ups := map[string]*upstream{}
	for i, u := range c.Upstreams {
		if u.Name == "" {
			return nil, fmt.Errorf("proxy.upstreams[%d]: name is missing", i)
		}
		if ups[u.Name] != nil {
			return nil, fmt.Errorf("proxy.upstreams: %q is named twice", u.Name)
		}
		up, err := u.resolve(getenv)
		if err != nil {
			return nil, fmt.Errorf("proxy upstream %q: %w", u.Name, err)
		}
		ups[u.Name] = up
	}
	cat := &catalog{models: map[string]*model{}}
	for i, m := range c.Models {
		if strings.TrimSpace(m.Name) == "" {
			return nil, fmt.Errorf("proxy.models[%d]: name is missing", i)
		}
		if len(m.Routes) == 0 {
			return nil, fmt.Errorf("proxy model %q: no routes: name at least one upstream", m.Name)
		}
		mm := &model{name: m.Name, maxTokens: m.MaxTokens}
		if mm.maxTokens <= 0 {
			mm.maxTokens = defaultMaxTokens
		}
		for _, r := range m.Routes {
			up := ups[r.Upstream]
			if up == nil {
				return nil, fmt.Errorf("proxy model %q: no upstream named %q", m.Name, r.Upstream)
			}
			name := r.Model
			if name == "" {
				name = m.Name
			}
			mm.routes = append(mm.routes, newRoute(up, name))
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			if cat.models[n] != nil {
				return nil, fmt.Errorf("proxy model name or alias %q is used twice", n)
			}
			cat.models[n] = mm
			cat.names = append(cat.names, n)
		}
	}
	return cat, nil
}

func (u Upstream) resolve(getenv func(string) string) (*upstream, error) {
	up := &upstream{name: u.Name, kind: u.Kind}
	base := strings.TrimRight(strings.TrimSpace(u.BaseURL), "/")
	switch u.Kind {
	case KindOpenAI:
		if base == "" {
			base = "https://api.openai.com/v1"
		}
	case KindAnthropic:
		if base == "" {
			base = "https://api.anthropic.com"
		}
	case KindOpenAICompatible:
		if base == "" {
			return nil, errors.New("base_url is missing (http://127.0.0.1:11434/v1 for Ollama, say)")
		}
	case KindVertex:
		return u.resolveVertex(up, base)
	default:
		return nil, fmt.Errorf("kind %q: want openai, anthropic, openai-compatible or vertex", u.Kind)
	}
	p, err := url.Parse(base)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.RawQuery != "" {
		return nil, fmt.Errorf("base_url %q: want http(s)://host[:port][/path], without credentials or a query", u.BaseURL)
	}
	switch {
	case u.Kind != KindAnthropic:
		up.url = base + "/chat/completions"
	case strings.HasSuffix(base, "/v1"):
		// Anthropic's SDKs take the base URL without /v1, Loom's
		// OpenAI convention with it; both lead to the same endpoint.
		up.url = base + "/messages"
	default:
		up.url = base + "/v1/messages"
	}
	switch {
	case u.KeyEnv != "" && u.KeyFile != "":
		return nil, errors.New("give key_env or key_file, not both")
	case u.KeyEnv != "":
		up.key = strings.TrimSpace(getenv(u.KeyEnv))
		if up.key == "" {
			return nil, fmt.Errorf("key_env: the environment variable %s is empty or not set", u.KeyEnv)
		}
	case u.KeyFile != "":
		b, err := os.ReadFile(u.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		if up.key = strings.TrimSpace(string(b)); up.key == "" {
			return nil, fmt.Errorf("key_file %s is empty", u.KeyFile)
		}
	case u.Kind != KindOpenAICompatible:
		return nil, errors.New("no key: set key_env or key_file")
	}
	if strings.ContainsAny(up.key, "\r\n") {
		return nil, errors.New("the key holds a line break")
	}
	return up, nil
}

// vertexScope is the OAuth scope Vertex AI's API takes.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

var locationRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]{1,40}$`) })
var projectRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{4,61}[a-z0-9]$`) })

// resolveVertex readies a vertex upstream: its OpenAI-compatible endpoint
// and the root of Anthropic's models, under the API's root for the
// project and location (base_url, when given, replaces that root), and a
// token source on its service account's key.
func (u Upstream) resolveVertex(up *upstream, base string) (*upstream, error) {
	if u.KeyEnv != "" || u.KeyFile != "" {
		return nil, errors.New("a vertex upstream signs in with credentials_file (a service account's JSON key), not key_env or key_file")
	}
	switch {
	case !projectRE().MatchString(u.Project):
		return nil, fmt.Errorf("project %q: a Google Cloud project ID is missing or malformed", u.Project)
	case !locationRE().MatchString(u.Location):
		return nil, fmt.Errorf("location %q: a region such as us-central1, or global", u.Location)
	}
	if base == "" {
		host := u.Location + "-aiplatform.googleapis.com"
		if u.Location == "global" {
			host = "aiplatform.googleapis.com"
		}
		base = "https://" + host + "/v1"
	}
	p, err := url.Parse(base)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.RawQuery != "" {
		return nil, fmt.Errorf("base_url %q: want http(s)://host[:port][/path], without credentials or a query", u.BaseURL)
	}
	at := base + "/projects/" + u.Project + "/locations/" + u.Location
	up.url = at + "/endpoints/openapi/chat/completions"
	up.vertexModels = at + "/publishers/anthropic/models"
	if u.CredentialsFile == "" {
		return nil, errors.New("credentials_file is missing: a service account's JSON key with Vertex AI access")
	}
	b, err := os.ReadFile(u.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("credentials_file: %w", err)
	}
	// JWTConfigFromJSON takes only a service account's key (never the
	// user credentials of a developer's gcloud login).
	jwt, err := google.JWTConfigFromJSON(b, vertexScope)
	if err != nil {
		return nil, fmt.Errorf("credentials_file %s: %w", u.CredentialsFile, err)
	}
	// Token requests are bounded like every other call.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	up.tokens = oauth2.ReuseTokenSource(nil, jwt.TokenSource(ctx))
	return up, nil
}

func (c Config) durations() (connect, firstByte, idle, stream time.Duration) {
	def := func(d Duration, v time.Duration) time.Duration {
		if d > 0 {
			return time.Duration(d)
		}
		return v
	}
	return def(c.ConnectTimeout, 10*time.Second), def(c.FirstByteTimeout, 5*time.Minute),
		def(c.IdleTimeout, 5*time.Minute), def(c.StreamTimeout, 60*time.Minute)
}
