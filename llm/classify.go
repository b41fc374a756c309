package llm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// endpoint is what classification needs to know to write a useful message.
type endpoint struct {
	baseURL string
	model   string
	keySet  bool
	api     string // the provider's name; "" is DefaultProvider
	from    Origins
}

// forRequest is the endpoint as req uses it (its own model, if it names
// one) and req with its output cap filled in: the request's own, else the
// configured one, else the default (larger for reasoning models, whose
// thinking counts against it).
func (ep endpoint) forRequest(req Request, maxOutput int) (endpoint, Request) {
	if req.Model != "" {
		ep.model = req.Model
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = maxOutput
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = DefaultMaxOutputTokens
		if isReasoningModel(ep.model) {
			req.MaxTokens = DefaultMaxReasoningTokens
		}
	}
	return ep, req
}

func (ep endpoint) provider() *providerInfo {
	p, err := lookupProvider(ep.api)
	if err != nil {
		p, _ = lookupProvider(DefaultProvider)
	}
	return p
}

// httpError is an error answer in a provider's own shape, read by its
// provider (go-openai's errors are classified as they come).
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.message) }

// protocolError is an answer that breaks its protocol's rules.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// classify turns whatever a provider, net/http or the context returned into
// an *Error. header holds the error response's headers, if any.
func classify(ctx context.Context, err error, ep endpoint, header http.Header) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	e := &Error{BaseURL: ep.baseURL, Model: ep.model, Err: err}
	// A canceled context also surfaces as a network error from the reader;
	// the context's own error is the truth, and it is never retried.
	if ctx.Err() != nil {
		e.Kind = KindCanceled
		e.Err = ctx.Err()
		e.BaseURL = ""
		return e
	}

	var (
		apiErr  *openai.APIError
		reqErr  *openai.RequestError
		httpErr *httpError
		timeout *timeoutError
		size    *sizeError
		notSSE  *notStreamError
		proto   *protocolError
	)
	switch {
	case errors.As(err, &timeout):
		// A bound of Config ended the call; another try may be quicker.
		e.Kind, e.Temporary = KindTimeout, true
		e.Message, e.Hint = timeout.Error(), timeout.hint()
		return e
	case errors.As(err, &size):
		e.Kind = KindProtocol
		e.Message = size.Error()
		e.Hint = "the server is not sending a usable answer; check that the base URL points at " + ep.provider().api
		return e
	case errors.As(err, &notSSE):
		e.Kind = KindProtocol
		e.Message = notSSE.Error()
		e.Hint = "the server's answer is not a stream; check that the base URL points at " + ep.provider().api + " that supports \"stream\": true"
		return e
	case errors.As(err, &proto):
		e.Kind = KindProtocol
		e.Message = proto.Error()
		e.Hint = "the server's answer breaks the protocol; check that the base URL points at " + ep.provider().api
		return e
	case errors.As(err, &apiErr):
		e.Status = apiErr.HTTPStatusCode
		e.Message = apiErr.Message
		if e.Status == 0 {
			// An error event inside a stream that had already started.
			e.Kind, e.Temporary = KindServer, true
			e.Hint = "the server reported an error in the middle of its answer; try again"
			return e
		}
	case errors.As(err, &reqErr):
		e.Status = reqErr.HTTPStatusCode
		e.Message = bodyExcerpt(reqErr.Body)
	case errors.As(err, &httpErr):
		e.Status, e.Message = httpErr.status, httpErr.message
	}
	if e.Status != 0 {
		classifyStatus(e, ep)
		e.RetryAfter = retryAfter(header, time.Now())
		return e
	}
	classifyTransport(e, err, ep)
	return e
}

func classifyStatus(e *Error, ep endpoint) {
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		e.Kind = KindAuth
		keyEnv := ep.provider().apiKeyEnv
		if ep.keySet {
			e.Hint = "the server rejected the API key: check " + keyEnv + " / LOOM_API_KEY, and that the base URL (from " + ep.from.baseURLOrigin() + ") is the server the key belongs to"
		} else {
			e.Hint = "no API key is set: set LOOM_API_KEY or " + keyEnv + " (or \"api_key\" in the loom config file)"
		}
	case s == http.StatusForbidden:
		e.Kind = KindAuth
		e.Hint = fmt.Sprintf("the API key is not allowed to use model %q: check the account's access or choose another model with LOOM_MODEL", ep.model)
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
		e.Hint = ep.provider().notFound(ep.model)
	case s == http.StatusTooManyRequests:
		e.Kind, e.Temporary = KindRateLimit, true
		e.Hint = "the server is limiting requests or the account is out of quota; wait and try again, or check the plan's limits"
	case s == http.StatusRequestTimeout:
		e.Kind, e.Temporary = KindTimeout, true
		e.Hint = "the server took too long to answer; try again"
	case s == http.StatusInternalServerError, s == http.StatusBadGateway,
		s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		e.Kind, e.Temporary = KindServer, true
		e.Hint = "the server failed; it may be overloaded, loading the model or restarting: try again"
	case s == statusOverloaded:
		e.Kind, e.Temporary = KindServer, true
		e.Hint = "the API is overloaded for everyone, not limiting this account: try again in a moment"
	case s >= 500:
		e.Kind = KindServer
		e.Hint = "the server cannot handle this request"
	case s >= 400:
		e.Kind = KindBadRequest
		e.Hint = "the server rejected the request; its message says why (for example the conversation is too long for the model, or the model does not support tools; if it names max_tokens, lower LOOM_MAX_OUTPUT_TOKENS or \"max_output_tokens\" in the loom config file)"
	default:
		e.Kind = KindProtocol
		e.Hint = "the server's answer is not a model's answer; check that the base URL points at " + ep.provider().api
	}
}

// statusOverloaded is the status Anthropic's API answers when it is short of
// capacity for all its users (its overloaded_error).
const statusOverloaded = 529

func classifyTransport(e *Error, err error, ep endpoint) {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind, e.Temporary = KindNetwork, true
		e.Hint = "nothing is listening there: start the model server (for Ollama: `ollama serve`) or fix the base URL (from " + ep.from.baseURLOrigin() + ")"
	case errors.As(err, &dnsErr):
		e.Kind = KindNetwork
		e.Temporary = dnsErr.IsTemporary || dnsErr.IsTimeout
		e.Hint = "the host name in the base URL cannot be resolved: check the base URL (from " + ep.from.baseURLOrigin() + ") and the network"
	case errors.As(err, &certErr), errors.As(err, &unkAuth):
		e.Kind = KindNetwork
		e.Hint = "the server's TLS certificate is not trusted: check the base URL (http vs https) and the system's certificates"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, errStreamCut), errors.Is(err, errNoMessageStop):
		e.Kind, e.Temporary = KindNetwork, true
		e.Hint = "the connection was closed before the answer was complete; the server may have crashed or restarted: try again"
	case errors.As(err, &netErr) && netErr.Timeout():
		e.Kind, e.Temporary = KindTimeout, true
		e.Hint = "no answer in time; the server may be busy or loading the model: try again"
	case errors.As(err, &synErr), errors.As(err, &typeErr),
		errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
		e.Kind = KindProtocol
		e.Hint = "the server's answer is not a model's stream; check that the base URL points at " + ep.provider().api
	case errors.As(err, &netErr):
		e.Kind = KindNetwork
		e.Hint = "check the base URL (from " + ep.from.baseURLOrigin() + ") and that the server is reachable"
	default:
		e.Kind = KindUnknown
	}
}

// bodyExcerpt keeps error bodies that are not in the provider's shape readable.
func bodyExcerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	const max = 300
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
