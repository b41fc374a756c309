package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// Bounds on what an upstream can make the proxy hold.
const (
	maxResponseBytes  = 64 << 20 // a whole (not streamed) answer
	maxErrorBodyBytes = 64 << 10
	// anthropicVersion is sent to Anthropic upstreams unless an Anthropic
	// client names its own.
	anthropicVersion = "2023-06-01"
)

func newTransport(connect, firstByte time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: firstByte,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		// Many streams to few upstreams at once: keep their connections.
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		// A compressed stream would wait in the decompressor's buffer.
		DisableCompression: true,
	}
}

// conn is an upstream's answer being read: its body is cut when the
// upstream goes silent for idle_timeout, or the call passes
// stream_timeout; release ends it.
type conn struct {
	resp    *http.Response
	ctx     context.Context
	body    *idleBody
	unlink  func() bool // from the client's request
	release func()
}

// Bounds on the wait for the end of a finished stream's body.
const (
	drainWait  = time.Second
	drainBytes = 64 << 10
)

// finish ends an answer that was read to its last event. An HTTP/1.1
// connection goes back to the pool only once its body has been read to
// the end, and an upstream may send the end of its chunked body in a
// packet after the last event: a goroutine then waits for it, briefly,
// so that the client's answer does not. Otherwise the next call to the
// upstream would open a new connection (and, to an HTTPS upstream
// without HTTP/2, make a new TLS handshake).
func (c *conn) finish() {
	if c.body.eof {
		c.release()
		return
	}
	c.unlink()
	go func() {
		c.body.t.Reset(drainWait)
		io.CopyN(io.Discard, c.body.ReadCloser, drainBytes)
		c.release()
	}()
}

// idleBody restarts the idle timer at every read.
type idleBody struct {
	io.ReadCloser
	t   *time.Timer
	d   time.Duration
	eof bool // a read met the body's end
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.Reset(b.d)
	b.eof = b.eof || err == io.EOF
	return n, err
}

// send posts body to rt's upstream with the upstream's key. The client's
// own headers are not passed on, except, from an Anthropic client to an
// Anthropic upstream, anthropic-version and anthropic-beta (which name API
// features, nothing more). An error is an *upstreamError.
func (p *Proxy) send(ctx context.Context, rt route, body []byte, client format, h http.Header, stream bool) (*conn, error) {
	// The client's leaving cancels the upstream's request through a link
	// that finish cuts: a finished stream's body is read to its end after
	// the client's answer ended.
	cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	unlink := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	tctx, tcancel := context.WithTimeoutCause(cctx, p.streamTimeout, errStreamTooLong)
	done := func() { unlink(); tcancel(); cancel(nil) }
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, rt.endpoint(stream), bytes.NewReader(body))
	if err != nil {
		done()
		return nil, &upstreamError{up: rt.up.name, msg: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	req.Header.Set("User-Agent", "loom-server")
	if rt.up.kind == KindAnthropic {
		version, beta := anthropicVersion, ""
		if client == anthropicFormat {
			if v := h.Get("Anthropic-Version"); v != "" {
				version = v
			}
			beta = h.Get("Anthropic-Beta")
		}
		req.Header.Set("Anthropic-Version", version)
		if beta != "" {
			req.Header.Set("Anthropic-Beta", beta)
		}
		req.Header.Set("X-Api-Key", rt.up.key)
	} else if cred, err := rt.up.credential(); err != nil {
		done()
		// The token endpoint's answer stays in the log; the next upstream
		// may serve the call.
		p.log.Warn("upstream credential", "upstream", rt.up.name, "err", err)
		return nil, &upstreamError{up: rt.up.name, msg: "could not get an access token", retry: true}
	} else if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if rt.vertexClaude() && client == anthropicFormat {
		// Its version is in the body (vertexBody); features are named as
		// to Anthropic.
		if beta := h.Get("Anthropic-Beta"); beta != "" {
			req.Header.Set("Anthropic-Beta", beta)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		e := transportError(tctx, rt.up.name, err)
		done()
		return nil, e
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		resp.Body.Close()
		done()
		return nil, httpError(rt.up, resp.StatusCode, resp.Header, b)
	}
	t := time.AfterFunc(p.idleTimeout, func() { cancel(errIdle) })
	ib := &idleBody{ReadCloser: resp.Body, t: t, d: p.idleTimeout}
	resp.Body = ib
	return &conn{resp: resp, ctx: tctx, body: ib, unlink: unlink, release: func() {
		t.Stop()
		ib.Close()
		done()
	}}, nil
}

// readWhole reads a whole answer, bounded.
func (c *conn) readWhole(up string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, transportError(c.ctx, up, err)
	}
	if len(b) > maxResponseBytes {
		return nil, &upstreamError{up: up, msg: "the answer is over 64 MiB"}
	}
	return b, nil
}

// clientGone reports whether the client's request ended (it disconnected
// or the server is closing its connection).
func clientGone(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled)
}
