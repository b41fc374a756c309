// Package proxy is the team server's LLM proxy: OpenAI's chat completions
// (POST /v1/chat/completions) and Anthropic's Messages API (POST
// /v1/messages), streamed or not, and GET /v1/models, in front of the
// model servers the server is configured with (OpenAI, Anthropic, and any
// OpenAI-compatible server: Ollama, vLLM, llama.cpp). Clients authenticate
// with a `loom login` token or an organisation's API key (as
// `Authorization: Bearer` or Anthropic's `x-api-key`); the providers' keys
// stay on the server.
//
// A request goes: the principal (auth.From) → the organisation it acts for
// (org.go) → the model by name or alias (config.go) → the Cedar authorizer
// (use_model on the model in that organisation) → the meter (server/usage:
// admit, then record tokens, status and latency) → each of the model's
// routes in turn until one answers (call.go, upstream.go), falling back on
// a 5xx, a 429, a connection failure or a timeout while the client has had
// nothing yet → the answer, translated when the client and the upstream
// speak different formats (translate_*.go, stream.go), streamed event by
// event as it comes (sse.go). Errors are written in the client's format
// (errors.go), and an upstream's error body is never passed on raw.
//
// A vertex upstream is Google Vertex AI, signed in with a service
// account's key: oauth2's JWT flow gets access tokens and renews them
// before they expire (config.go). Its models are reached through Vertex's
// OpenAI-compatible endpoint, except Claude (a model named "claude-…"),
// reached in Anthropic's format through rawPredict and streamRawPredict:
// the model in the URL, anthropic_version vertex-2023-10-16 in the body.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/usage"
)

// Options are what the proxy needs from the rest of the server.
type Options struct {
	Config Config
	Authz  *policy.Authorizer
	// Directory gives a user's organisations (the accounts store), OrgID
	// the ID of an organisation by slug or ID.
	Directory policy.Directory
	OrgID     func(ctx context.Context, ref string) (string, error)
	// Meter admits and records each call; nil means usage.Unmetered.
	Meter usage.Meter
	Log   *slog.Logger
	// Getenv reads the upstreams' key variables; nil means os.Getenv.
	Getenv func(string) string
}

// Proxy serves the proxy's routes.
type Proxy struct {
	cat                        *catalog
	client                     *http.Client
	authz                      *policy.Authorizer
	dir                        policy.Directory
	orgID                      func(ctx context.Context, ref string) (string, error)
	meter                      usage.Meter
	log                        *slog.Logger
	maxBody                    int64
	idleTimeout, streamTimeout time.Duration
	decisions                  decisionCache
}

// New checks the configuration and reads the upstreams' keys.
func New(o Options) (*Proxy, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	cat, err := o.Config.load(o.Getenv)
	if err != nil {
		return nil, err
	}
	if o.Authz == nil || o.Directory == nil || o.OrgID == nil {
		return nil, errors.New("proxy: the authorizer, the directory and OrgID are required")
	}
	if o.Meter == nil {
		o.Meter = usage.Unmetered{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	connect, firstByte, idle, stream := o.Config.durations()
	p := &Proxy{
		cat: cat, client: &http.Client{Transport: newTransport(connect, firstByte)},
		authz: o.Authz, dir: o.Directory, orgID: o.OrgID, meter: o.Meter, log: o.Log,
		maxBody: o.Config.MaxRequestBytes, idleTimeout: idle, streamTimeout: stream,
	}
	if p.maxBody <= 0 {
		p.maxBody = defaultMaxRequestBytes
	}
	return p, nil
}

// SetMeter replaces the meter; call it before the server serves.
func (p *Proxy) SetMeter(m usage.Meter) { p.meter = m }

// Routes registers the proxy's endpoints.
//
//	POST /v1/chat/completions   OpenAI's format, streamed or not
//	POST /v1/messages           Anthropic's format, streamed or not
//	GET  /v1/models             the models the caller may use, in a list both SDKs read
func (p *Proxy) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, openAIFormat) })
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, anthropicFormat) })
	mux.HandleFunc("GET /v1/models", p.models)
}

// modelEntry is one model of GET /v1/models, with the fields of both
// formats' lists (OpenAI's id/object/owned_by, Anthropic's
// type/display_name/created_at), so either SDK reads it.
type modelEntry struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Type        string `json:"type"`
	Created     int64  `json:"created"`
	CreatedAt   string `json:"created_at"`
	DisplayName string `json:"display_name"`
	OwnedBy     string `json:"owned_by"`
}

func (p *Proxy) models(w http.ResponseWriter, r *http.Request) {
	f := openAIFormat
	if r.Header.Get("Anthropic-Version") != "" {
		f = anthropicFormat
	}
	who := auth.From(r.Context())
	ctx, org, status, err := p.orgOf(r, who)
	if err != nil {
		p.refuse(w, r, f, status, err)
		return
	}
	data := []modelEntry{}
	for _, name := range p.cat.names {
		m := p.cat.models[name]
		if err := p.mayUse(ctx, who, org, m.name); err != nil {
			if !errors.Is(err, policy.ErrForbidden) {
				p.refuse(w, r, f, 0, err)
				return
			}
			continue
		}
		data = append(data, modelEntry{ID: name, Object: "model", Type: "model", CreatedAt: "1970-01-01T00:00:00Z", DisplayName: name, OwnedBy: "loom"})
	}
	out := map[string]any{"object": "list", "data": data, "has_more": false, "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		out["first_id"], out["last_id"] = data[0].ID, data[len(data)-1].ID
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(mustJSON(out))
}

// refuse answers an error of authentication, organisation or policy in
// format f; status 0 means: work it out from err.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, f format, status int, err error) {
	if status == 0 {
		switch {
		case errors.Is(err, policy.ErrUnauthenticated):
			status = http.StatusUnauthorized
		case errors.Is(err, policy.ErrForbidden), errors.Is(err, policy.ErrHidden):
			status = http.StatusForbidden
		default:
			p.log.ErrorContext(r.Context(), "proxy: deciding access", "path", r.URL.Path, "err", err)
			fail(w, f, http.StatusInternalServerError, "deciding access failed")
			return
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="loom"`)
		err = fmt.Errorf("sign in first: a `loom login` token or an API key, as Authorization: Bearer or x-api-key")
	}
	fail(w, f, status, err.Error())
}
