package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Every model call goes through guardTransport, which
//   - copies the headers of error responses into a slot carried by the
//     request's context: go-openai turns an error response into an error
//     value but drops its headers, and Retry-After lives in the headers;
//   - ends a call whose answer does not start, stalls or never ends
//     (Config's FirstByteTimeout, IdleTimeout, StreamTimeout) by canceling
//     the request's context with a timeoutError as the cause. net/http
//     bounds dialing and TLS (set up in newHTTPClient) but offers no
//     deadline on the reads of a response body, hence the timer here;
//   - bounds what an answer can make the reader buffer: go-openai reads
//     the stream line by line with no limit, and error bodies whole.

// Bounds on what an answer may make Loom hold. An answer of
// DefaultMaxReasoningTokens tokens streams in a few megabytes; a server
// that sends a whole tool call in one line (Ollama) writes a file's
// content in it.
const (
	maxStreamBytes    = 64 << 20
	maxLineBytes      = 16 << 20
	maxErrorBodyBytes = 1 << 20
	// headBytes of a body are kept to quote an answer that is not a stream.
	headBytes = 512
)

type respMetaKey struct{}

// respMeta is what the transport learns about the response that go-openai
// does not pass on.
type respMeta struct {
	mu          sync.Mutex
	header      http.Header // of an error response
	contentType string      // of a successful one
	head        []byte      // its first headBytes
}

func (m *respMeta) setHeader(h http.Header) {
	m.mu.Lock()
	m.header = h.Clone()
	m.mu.Unlock()
}

func (m *respMeta) get() http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.header
}

func (m *respMeta) addHead(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if room := headBytes - len(m.head); room > 0 {
		m.head = append(m.head, p[:min(room, len(p))]...)
	}
}

// body returns the content type and first bytes of a successful answer.
func (m *respMeta) body() (string, []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.contentType, m.head
}

func withRespMeta(ctx context.Context) (context.Context, *respMeta) {
	m := &respMeta{}
	return context.WithValue(ctx, respMetaKey{}, m), m
}

// bounds are the timeouts of one call, with defaults filled in.
type bounds struct {
	connect, firstByte, idle, stream time.Duration
}

// phase names a timeout: what took too long, and where it is configured.
type phase int

const (
	phaseConnect phase = iota
	phaseFirstByte
	phaseIdle
	phaseStream
)

// timeoutError is the cause given to a call ended by one of the bounds.
type timeoutError struct {
	phase phase
	after time.Duration
	err   error // the transport's own error, for a connect timeout
}

// timeoutTexts say what each bound saw: long for the error, short for a
// retry line, and the configuration key that sets the bound.
var timeoutTexts = map[phase]struct{ long, short, key string }{
	phaseConnect:   {"no connection within %s", "no connection within %s", "connect_timeout"},
	phaseFirstByte: {"no answer within %s of sending the request", "no answer within %s", "first_byte_timeout"},
	phaseIdle:      {"the answer stalled: nothing received for %s", "nothing received for %s", "idle_timeout"},
	phaseStream:    {"the answer was still streaming after %s", "still streaming after %s", "stream_timeout"},
}

func (e *timeoutError) Error() string {
	t := timeoutTexts[e.phase]
	return fmt.Sprintf(t.long, e.after) + " (" + t.key + ")"
}

// brief is Error's text for a retry line, without parentheses.
func (e *timeoutError) brief() string {
	t := timeoutTexts[e.phase]
	return fmt.Sprintf(t.short, e.after) + ", " + t.key
}

func (e *timeoutError) Unwrap() error { return e.err }

// hint says why it may have happened and how to wait longer.
func (e *timeoutError) hint() string {
	switch e.phase {
	case phaseConnect:
		return "check that the model server is running and reachable at the base URL (LOOM_BASE_URL); to wait longer, set LOOM_CONNECT_TIMEOUT or \"connect_timeout\" in the loom config file (e.g. 30s)"
	case phaseFirstByte:
		return "the server may be loading the model or reading a long prompt; to wait longer, set LOOM_FIRST_BYTE_TIMEOUT or \"first_byte_timeout\" in the loom config file (e.g. 10m)"
	case phaseIdle:
		return "the server may have stalled, or be slow to send a long tool call in one piece; to wait longer, set LOOM_IDLE_TIMEOUT or \"idle_timeout\" in the loom config file (e.g. 10m)"
	default:
		return "the server may be repeating itself without end; to allow longer answers, set LOOM_STREAM_TIMEOUT or \"stream_timeout\" in the loom config file (e.g. 2h), or bound them with LOOM_MAX_OUTPUT_TOKENS or \"max_output_tokens\""
	}
}

// sizeError reports an answer larger than Loom holds.
type sizeError struct {
	what  string
	limit int
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("%s is larger than %d MiB, more than any answer needs", e.what, e.limit>>20)
}

type guardTransport struct {
	base http.RoundTripper
	b    bounds
	// ownDialer: base is the transport newHTTPClient built, so a timeout it
	// reports before any response can only be the connect timeout.
	ownDialer bool
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	meta, _ := req.Context().Value(respMetaKey{}).(*respMeta)
	g := newGuard(req.Context(), t.b)
	resp, err := t.base.RoundTrip(req.WithContext(g.ctx))
	if err != nil {
		g.stop()
		if c := g.cause(); c != nil {
			return nil, c
		}
		var ne net.Error
		if t.ownDialer && req.Context().Err() == nil && errors.As(err, &ne) && ne.Timeout() {
			return nil, &timeoutError{phase: phaseConnect, after: t.b.connect, err: err}
		}
		return nil, err
	}
	body := &guardedBody{rc: resp.Body, g: g}
	if resp.StatusCode >= 400 {
		if meta != nil {
			meta.setHeader(resp.Header)
		}
		// An error body is read whole by go-openai; a long one is cut
		// short, which still leaves the status and an excerpt to report.
		body.truncateAt = maxErrorBodyBytes
	} else if meta != nil {
		meta.mu.Lock()
		meta.contentType = resp.Header.Get("Content-Type")
		meta.mu.Unlock()
		body.meta = meta
	}
	resp.Body = body
	return resp, nil
}

// guard holds the timers of one call.
type guard struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	b       bounds
	heard   atomic.Bool // a first byte of the body has arrived
	waiting *time.Timer // first byte, then idle
	whole   *time.Timer // stream
}

func newGuard(parent context.Context, b bounds) *guard {
	g := &guard{b: b}
	g.ctx, g.cancel = context.WithCancelCause(parent)
	g.waiting = time.AfterFunc(b.firstByte, func() {
		if g.heard.Load() {
			g.cancel(&timeoutError{phase: phaseIdle, after: b.idle})
		} else {
			g.cancel(&timeoutError{phase: phaseFirstByte, after: b.firstByte})
		}
	})
	g.whole = time.AfterFunc(b.stream, func() {
		g.cancel(&timeoutError{phase: phaseStream, after: b.stream})
	})
	return g
}

// received restarts the wait for the next part of the answer.
func (g *guard) received() {
	g.heard.Store(true)
	g.waiting.Reset(g.b.idle)
}

// cause is the timeout that ended the call, if one did.
func (g *guard) cause() error {
	var te *timeoutError
	if errors.As(context.Cause(g.ctx), &te) {
		return te
	}
	return nil
}

func (g *guard) stop() {
	g.waiting.Stop()
	g.whole.Stop()
	g.cancel(nil)
}

// guardedBody is a response body under a guard.
type guardedBody struct {
	rc   io.ReadCloser
	g    *guard
	meta *respMeta // set for successful answers, to keep their head
	// truncateAt, when not 0, ends the body quietly after that many bytes
	// (error bodies); otherwise the stream and line limits apply.
	truncateAt int
	n, line    int
	err        error
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.truncateAt > 0 {
		if b.n >= b.truncateAt {
			b.finish(io.EOF)
			return 0, io.EOF
		}
		p = p[:min(len(p), b.truncateAt-b.n)]
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		b.g.received()
		if b.meta != nil && b.n < headBytes {
			b.meta.addHead(p[:n])
		}
		b.n += n
		if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
			b.line = n - i - 1
		} else {
			b.line += n
		}
		if b.truncateAt == 0 {
			switch {
			case b.line > maxLineBytes:
				n, err = 0, &sizeError{what: "a line of the answer's stream", limit: maxLineBytes}
			case b.n > maxStreamBytes:
				n, err = 0, &sizeError{what: "the answer's stream", limit: maxStreamBytes}
			}
		}
	}
	if err != nil && err != io.EOF {
		// The context's cause says why the transport's read failed.
		if c := b.g.cause(); c != nil {
			err = c
		}
	}
	if err != nil {
		b.finish(err)
	}
	return n, err
}

func (b *guardedBody) finish(err error) {
	b.err = err
	b.g.stop()
}

func (b *guardedBody) Close() error {
	err := b.rc.Close()
	b.g.stop()
	return err
}

// newHTTPClient returns a copy of c (or of a default client) whose transport
// is guarded. Without a transport of its own, c gets one that bounds
// connecting by cfg.ConnectTimeout.
func newHTTPClient(cfg Config) *http.Client {
	var cp http.Client
	if cfg.HTTPClient != nil {
		cp = *cfg.HTTPClient
	}
	gt := &guardTransport{base: cp.Transport, b: bounds{
		connect: cfg.ConnectTimeout, firstByte: cfg.FirstByteTimeout,
		idle: cfg.IdleTimeout, stream: cfg.StreamTimeout,
	}}
	if gt.base == nil {
		var t *http.Transport
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			t = dt.Clone()
		} else {
			t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
		}
		t.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = cfg.ConnectTimeout
		gt.base, gt.ownDialer = t, true
	}
	cp.Transport = gt
	return &cp
}
