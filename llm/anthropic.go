package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// anthropicVersion is the API version Loom speaks (the anthropic-version
// header); the Messages API has not changed it since.
const anthropicVersion = "2023-06-01"

// Anthropic is a Provider for Anthropic's Messages API (POST /v1/messages),
// or a server or proxy that speaks it.
//
// It is written on net/http rather than Anthropic's Go SDK: the SDK's one
// package holds every endpoint of the API (about 150,000 lines, with
// OpenTelemetry, a YAML parser and a JSON Schema generator behind it), which
// would add some 14 MB to the binary and most of a minute to a cold build,
// for one request and seven kinds of streamed event; it also retries and
// times out on its own, which Loom does in retry.go and transport.go.
type Anthropic struct {
	client    *http.Client
	url       string // of the messages endpoint
	key       string
	ep        endpoint
	maxOutput int
}

// NewAnthropic returns a provider for cfg. An empty BaseURL means
// DefaultAnthropicBaseURL; a base URL may end in /v1 or not. Zero bounds
// take their defaults (see Config).
func NewAnthropic(cfg Config) (*Anthropic, error) {
	cfg, base, err := prepare(cfg, DefaultAnthropicBaseURL,
		"the base URL must look like https://api.anthropic.com")
	if err != nil {
		return nil, err
	}
	// Anthropic's SDKs take the base URL without /v1, Loom's OpenAI
	// convention with it; both lead to the same endpoint.
	url := base + "/v1/messages"
	if strings.HasSuffix(base, "/v1") {
		url = base + "/messages"
	}
	return &Anthropic{
		client:    newHTTPClient(cfg),
		url:       url,
		key:       cfg.APIKey,
		ep:        endpoint{baseURL: base, model: cfg.Model, keySet: cfg.APIKey != "", from: cfg.From, api: "anthropic"},
		maxOutput: cfg.MaxOutputTokens,
	}, nil
}

// Model is the model used when a Request does not name one.
func (p *Anthropic) Model() string { return p.ep.model }

// BaseURL is the API endpoint the provider talks to.
func (p *Anthropic) BaseURL() string { return p.ep.baseURL }

// Stream implements Provider.
func (p *Anthropic) Stream(ctx context.Context, req Request) (Stream, error) {
	// The API requires max_tokens on every request; forRequest sets it.
	ep, req := p.ep.forRequest(req, p.maxOutput)
	body, err := messagesRequest(ep.model, req)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Model: ep.model, Message: err.Error(), Err: err}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Model: ep.model, Message: err.Error(), Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(data))
	if err != nil {
		return nil, classify(ctx, err, ep, nil)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	hreq.Header.Set("Anthropic-Version", anthropicVersion)
	if p.key != "" {
		hreq.Header.Set("X-Api-Key", p.key)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, classify(ctx, err, ep, nil)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		// The transport cuts an error body at maxErrorBodyBytes.
		b, err := io.ReadAll(resp.Body)
		if err != nil && ctx.Err() != nil {
			return nil, classify(ctx, err, ep, nil)
		}
		return nil, classify(ctx, anthropicHTTPError(resp.StatusCode, b), ep, resp.Header)
	}
	return &anthropicStream{ctx: ctx, body: resp.Body, sse: newSSEReader(resp.Body), ep: ep,
		contentType: resp.Header.Get("Content-Type"), blocks: map[int]*anthropicBlockState{}}, nil
}

// anthropicErrorStatus is the HTTP status each error type of the API comes
// with, so an error event inside a stream, which has none, is classified as
// the same error answered at once would be.
var anthropicErrorStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"timeout_error":         http.StatusGatewayTimeout,
	"overloaded_error":      statusOverloaded,
}

// anthropicErrorBody is the API's error shape, answered with an error status
// and sent as an "error" event inside a stream.
type anthropicErrorBody struct {
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (b anthropicErrorBody) text() string {
	if b.Error.Type == "" {
		return b.Error.Message
	}
	return b.Error.Type + ": " + b.Error.Message
}

// anthropicHTTPError reads an error answer; a body in another shape (a
// proxy's HTML page) is quoted.
func anthropicHTTPError(status int, body []byte) *httpError {
	var b anthropicErrorBody
	if json.Unmarshal(body, &b) == nil && b.Error != nil {
		return &httpError{status: status, message: b.text()}
	}
	return &httpError{status: status, message: bodyExcerpt(body)}
}

// anthropicStreamError classifies an error event received mid-stream by its
// type; an unknown type counts as the server's failure.
func anthropicStreamError(b anthropicErrorBody, ep endpoint) *Error {
	status, ok := anthropicErrorStatus[b.Error.Type]
	if !ok {
		status = http.StatusInternalServerError
	}
	e := &Error{Status: status, BaseURL: ep.baseURL, Model: ep.model, Message: b.text()}
	classifyStatus(e, ep)
	// The answer's status was 200; the error came inside it.
	e.Status = 0
	e.Hint = "the server reported an error in the middle of its answer: " + e.Hint
	e.Err = fmt.Errorf("error event: %s", b.text())
	return e
}
