package llm

import (
	"context"
	"net/http"
	"sync"
)

// go-openai turns an error response into an error value but drops its
// headers, and Retry-After lives in the headers. This transport copies the
// headers of error responses into a slot carried by the request's context.

type respMetaKey struct{}

type respMeta struct {
	mu     sync.Mutex
	header http.Header
}

func (m *respMeta) set(h http.Header) {
	m.mu.Lock()
	m.header = h.Clone()
	m.mu.Unlock()
}

func (m *respMeta) get() http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.header
}

func withRespMeta(ctx context.Context) (context.Context, *respMeta) {
	m := &respMeta{}
	return context.WithValue(ctx, respMetaKey{}, m), m
}

type metaTransport struct {
	base http.RoundTripper
}

func (t metaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode >= 400 {
		if m, ok := req.Context().Value(respMetaKey{}).(*respMeta); ok {
			m.set(resp.Header)
		}
	}
	return resp, err
}

// wrapHTTPClient returns a copy of c (or of a default client) whose transport
// records error-response headers.
func wrapHTTPClient(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = metaTransport{base: base}
	return &cp
}
