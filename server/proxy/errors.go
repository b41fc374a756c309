package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// upstreamError is a call to an upstream that failed. Its message is the
// proxy's own or the upstream's error message with the upstream's key
// taken out: an upstream's error body is never passed on as it came.
type upstreamError struct {
	up string
	// status is the upstream's HTTP status; 0 when it did not answer
	// (connection refused, timeout) or failed inside a stream.
	status     int
	msg        string
	retryAfter string
	timeout    bool
	// retry says the next upstream may be tried: the upstream failed
	// (5xx, 429, no answer, an overload) rather than refused the request.
	retry bool
}

func (e *upstreamError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("upstream %s answered HTTP %d: %s", e.up, e.status, e.msg)
	}
	return fmt.Sprintf("upstream %s: %s", e.up, e.msg)
}

// clientStatus is the status the client gets for e: the upstream's own for
// a refused request, 429 for its rate limit, 502 for its failure or its
// refusing the server's key (a matter for the administrator, not the
// client), 504 for a timeout.
func (e *upstreamError) clientStatus() int {
	switch {
	case e.timeout:
		return http.StatusGatewayTimeout
	case e.status == http.StatusTooManyRequests:
		return e.status
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden || e.status == 0 || e.status >= 500:
		return http.StatusBadGateway
	}
	return e.status
}

// clientMessage is what the client reads of e.
func (e *upstreamError) clientMessage() string {
	if e.status == http.StatusUnauthorized || e.status == http.StatusForbidden {
		return fmt.Sprintf("upstream %s refused the server's credentials (HTTP %d); the server's administrator must check its key", e.up, e.status)
	}
	return e.Error()
}

// Why a call was cut: the causes given to its context.
var (
	errIdle          = errors.New("the upstream went silent (idle_timeout)")
	errStreamTooLong = errors.New("the call took longer than stream_timeout")
)

// transportError classifies an error of the connection to an upstream.
func transportError(ctx context.Context, up string, err error) *upstreamError {
	e := &upstreamError{up: up, retry: true}
	cause := context.Cause(ctx)
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(cause, errIdle), errors.Is(cause, errStreamTooLong):
		e.msg, e.timeout = cause.Error(), true
	case errors.As(err, &ne) && ne.Timeout():
		e.msg, e.timeout = "no answer in time (connect_timeout or first_byte_timeout)", true
	case errors.Is(err, errLineTooLong):
		e.msg, e.retry = err.Error(), false
	default:
		e.msg = "the connection failed: " + errorText(err)
	}
	return e
}

// errorText is err without the URL net/http puts in front of it (the URL
// is the configuration's business, and the only place the request's
// details could show).
func errorText(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.HasPrefix(err.Error(), "Post ") {
			return inner.Error()
		}
	}
	return err.Error()
}

// httpError reads an upstream's error answer: the message of a JSON error
// body of either format, else the status alone.
func httpError(up *upstream, status int, header http.Header, body []byte) *upstreamError {
	e := &upstreamError{up: up.name, status: status, retryAfter: header.Get("Retry-After"),
		retry: status >= 500 || status == http.StatusTooManyRequests}
	var oa openAIErrorBody
	var an anthErrorBody
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// Providers quote part of a refused key ("sk-abc…xyz").
		e.msg = http.StatusText(status)
	case json.Unmarshal(body, &an) == nil && an.Error != nil && an.Error.Message != "" && an.Type == "error":
		e.msg = an.Error.Type + ": " + an.Error.Message
	case json.Unmarshal(body, &oa) == nil && oa.Error != nil && oa.Error.Message != "":
		e.msg = oa.Error.Message
	default:
		e.msg = http.StatusText(status)
	}
	e.msg = scrub(e.msg, up.key)
	if up.tokens != nil {
		if t, err := up.tokens.Token(); err == nil { // the cached token
			e.msg = scrub(e.msg, t.AccessToken)
		}
	}
	return e
}

// streamError is an error an upstream sent inside a stream; an overload or
// the server's failure lets the next upstream be tried if the client has
// not had anything yet.
func streamError(up, typ, msg string) *upstreamError {
	e := &upstreamError{up: up, msg: strings.TrimPrefix(typ+": "+msg, ": ")}
	switch typ {
	case "overloaded_error", "api_error", "server_error", "rate_limit_error", "timeout_error", "":
		e.retry = true
	}
	return e
}

// scrub takes key out of an upstream's message and bounds its length.
func scrub(msg, key string) string {
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	const maxMsg = 500
	if len(msg) > maxMsg {
		cut := maxMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// fail answers an error in the client's format.
func fail(w http.ResponseWriter, f format, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(errorBody(f, status, msg))
	w.Write([]byte("\n"))
}

// errorBody is an error in format f: OpenAI's {"error": {message, type,
// param, code}} or Anthropic's {"type": "error", "error": {type, message}}.
func errorBody(f format, status int, msg string) []byte {
	if f == anthropicFormat {
		return mustJSON(anthErrorBody{Type: "error", Error: &anthError{Type: anthropicErrorType(status), Message: msg}})
	}
	typ, code := openAIErrorType(status)
	return mustJSON(openAIErrorBody{Error: &openAIError{Message: msg, Type: typ, Code: code}})
}

func anthropicErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func openAIErrorType(status int) (typ string, code any) {
	switch status {
	case 401:
		return "authentication_error", "invalid_api_key"
	case 402:
		return "insufficient_quota", "budget_spent"
	case 403:
		return "permission_error", nil
	case 404:
		return "invalid_request_error", "model_not_found"
	case 429:
		return "rate_limit_error", "rate_limit_exceeded"
	}
	if status >= 500 {
		return "server_error", nil
	}
	return "invalid_request_error", nil
}

// retryAfterSeconds is a Retry-After header value for d, rounded up.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(max(d, time.Second).Seconds())))
}

// streamFailure writes e as an error event of format f in a stream that
// has begun.
func streamFailure(sw *sseWriter, f format, msg string) {
	if f == anthropicFormat {
		sw.event("error", mustJSON(anthErrorBody{Type: "error", Error: &anthError{Type: "api_error", Message: msg}}))
	} else {
		sw.event("", mustJSON(openAIErrorBody{Error: &openAIError{Message: msg, Type: "server_error"}}))
	}
	sw.flush()
}
