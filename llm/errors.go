package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind classifies an Error by what a person (or the retry logic) should do.
type Kind int

// The kinds of Error.
const (
	KindUnknown Kind = iota
	// KindAuth: the key is missing, wrong or lacks permission (401, 403).
	KindAuth
	// KindBadRequest: the request itself is wrong (400, 413, 422, ...).
	KindBadRequest
	// KindNotFound: wrong model name or base URL (404).
	KindNotFound
	// KindRateLimit: too many requests or quota exhausted (429).
	KindRateLimit
	// KindTimeout: the server or the network timed out (408, dial/read timeouts).
	KindTimeout
	// KindServer: the server failed (5xx).
	KindServer
	// KindNetwork: no connection, or it broke (refused, reset, closed mid-stream, DNS).
	KindNetwork
	// KindProtocol: the server answered something that is not the protocol.
	KindProtocol
	// KindCanceled: the caller's context was canceled or its deadline passed.
	KindCanceled
)

var kindNames = map[Kind]string{
	KindUnknown:    "unknown",
	KindAuth:       "auth",
	KindBadRequest: "bad_request",
	KindNotFound:   "not_found",
	KindRateLimit:  "rate_limit",
	KindTimeout:    "timeout",
	KindServer:     "server",
	KindNetwork:    "network",
	KindProtocol:   "protocol",
	KindCanceled:   "canceled",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a classified failure of a model call.
type Error struct {
	Kind Kind
	// Status is the HTTP status code, 0 when there was no HTTP answer.
	Status int
	// BaseURL and Model say which endpoint failed, so the message can name it.
	BaseURL string
	Model   string
	// Message is what the server said, if anything.
	Message string
	// Hint tells a person what to do about it.
	Hint string
	// RetryAfter is the wait the server asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// Temporary reports that trying again may succeed.
	Temporary bool
	// Err is the underlying error.
	Err error
}

// Error is one message a person can act on: what happened, where, what
// the server said, then what to do. "the model endpoint
// http://localhost:11434/v1 answered 404 Not Found: model "x" not found.
// Check the model name …" or "connection failed at URL: … . Nothing is
// listening there: …". It has no package prefix: it is shown as it is.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Status != 0 && e.BaseURL != "":
		fmt.Fprintf(&b, "the model endpoint %s answered %s", e.BaseURL, e.statusText())
	case e.Status != 0:
		fmt.Fprintf(&b, "the model endpoint answered %s", e.statusText())
	default:
		b.WriteString(e.summary())
		if e.BaseURL != "" {
			fmt.Fprintf(&b, " at %s", e.BaseURL)
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Err != nil && e.Status == 0 {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (the server asks to wait %s)", e.RetryAfter)
	}
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(upperFirst(e.Hint))
	}
	return b.String()
}

// statusText is the HTTP status as a person reads it: "401 Unauthorized",
// or "status 529, server error" for a code without a name.
func (e *Error) statusText() string {
	if text := http.StatusText(e.Status); text != "" {
		return fmt.Sprintf("%d %s", e.Status, text)
	}
	return fmt.Sprintf("status %d, %s", e.Status, e.summary())
}

// upperFirst starts s, a sentence, with a capital letter.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func (e *Error) summary() string {
	switch e.Kind {
	case KindAuth:
		if e.Status == http.StatusForbidden {
			return "access denied"
		}
		return "authentication failed"
	case KindBadRequest:
		return "request rejected"
	case KindNotFound:
		return "not found"
	case KindRateLimit:
		return "rate limited"
	case KindTimeout:
		return "timed out"
	case KindServer:
		return "server error"
	case KindNetwork:
		return "connection failed"
	case KindProtocol:
		return "unexpected response"
	case KindCanceled:
		return "canceled"
	}
	return "request failed"
}

// Brief says in a few words, on one line and without parentheses, what
// went wrong with a model call: "503 Service Unavailable", "connection
// refused", "no answer within 2s, first_byte_timeout". It leaves out the
// advice of Error's message, for the line that reports a retry: the full
// message is for when Loom gives up.
func Brief(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		if err == nil {
			return "unknown error"
		}
		return briefText(strings.TrimPrefix(err.Error(), "llm: "))
	}
	var timeout *timeoutError
	switch {
	case e.Status != 0:
		return e.statusText()
	case errors.As(e.Err, &timeout):
		return timeout.brief()
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(e.Err, syscall.ECONNRESET), errors.Is(e.Err, syscall.EPIPE), errors.Is(e.Err, io.ErrUnexpectedEOF),
		errors.Is(e.Err, io.EOF), errors.Is(e.Err, errStreamCut), errors.Is(e.Err, errNoMessageStop):
		return "connection closed before the answer was complete"
	case e.Message != "":
		return e.summary() + ": " + briefText(e.Message)
	}
	return e.summary()
}

// briefText is s on one line, without parentheses, at most 120 bytes.
func briefText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.NewReplacer("(", "", ")", "").Replace(s)
	if len(s) > 120 {
		i := 120
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// Unwrap exposes the underlying error, so errors.Is(err, context.Canceled)
// works on a canceled call.
func (e *Error) Unwrap() error { return e.Err }
