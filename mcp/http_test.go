package mcp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPAddr(t *testing.T) {
	tests := []struct {
		addr string
		opts HTTPOptions
		want string
	}{
		{":7777", HTTPOptions{}, "127.0.0.1:7777"},
		{"7777", HTTPOptions{}, "127.0.0.1:7777"},
		{"localhost:7777", HTTPOptions{}, "localhost:7777"},
		{"127.0.0.2:7777", HTTPOptions{}, "127.0.0.2:7777"},
		{"[::1]:7777", HTTPOptions{NoAuth: true}, "[::1]:7777"},
		{"0.0.0.0:7777", HTTPOptions{Token: "t"}, "0.0.0.0:7777"},
		{":7777", HTTPOptions{AllowOrigins: []string{"https://app.example.com", "http://h:8080/"}}, "127.0.0.1:7777"},
	}
	for _, tt := range tests {
		if got, err := HTTPAddr(tt.addr, tt.opts); got != tt.want || err != nil {
			t.Errorf("HTTPAddr(%q, %+v) = %q, %v; want %q", tt.addr, tt.opts, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		addr string
		opts HTTPOptions
		want string
	}{
		{"0.0.0.0:7777", HTTPOptions{}, "bearer token"},
		{"[::]:7777", HTTPOptions{}, "bearer token"},
		{"example.com:7777", HTTPOptions{}, "bearer token"},
		{"0.0.0.0:7777", HTTPOptions{NoAuth: true}, "--no-auth is refused off loopback"},
		{":7777", HTTPOptions{NoAuth: true, Token: "t"}, "--no-auth contradicts"},
		{":7777", HTTPOptions{AllowOrigins: []string{"app.example.com"}}, "--allow-origin"},
		{":7777", HTTPOptions{AllowOrigins: []string{"https://app.example.com/path"}}, "--allow-origin"},
		{":7777", HTTPOptions{AllowOrigins: []string{"file:///x"}}, "--allow-origin"},
		{"a:b:c", HTTPOptions{Token: "t"}, "HOST:PORT"},
		{"host:", HTTPOptions{Token: "t"}, "port is missing"},
	} {
		if _, err := HTTPAddr(bad.addr, bad.opts); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("HTTPAddr(%q, %+v) = %v, want an error with %q", bad.addr, bad.opts, err, bad.want)
		}
	}
}

func TestBearer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	// cors adds what a browser's preflight carries.
	cors := map[string]string{"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"}
	tests := []struct {
		token, header string
		method        string // POST when empty
		extra         map[string]string
		want          int
	}{
		{"", "", "", nil, http.StatusTeapot},
		{"s3cret", "Bearer s3cret", "", nil, http.StatusTeapot},
		{"s3cret", "bearer s3cret", "", nil, http.StatusTeapot}, // the scheme is case-insensitive
		{"s3cret", "BEARER s3cret", "", nil, http.StatusTeapot},
		{"s3cret", "", "", nil, http.StatusUnauthorized},
		{"s3cret", "Bearer s3cre", "", nil, http.StatusUnauthorized},
		{"s3cret", "Bearer s3cretx", "", nil, http.StatusUnauthorized},
		{"s3cret", "Bearer S3CRET", "", nil, http.StatusUnauthorized}, // the token is not
		{"s3cret", "Basic s3cret", "", nil, http.StatusUnauthorized},
		{"s3cret", "Bearers3cret", "", nil, http.StatusUnauthorized},
		// A CORS preflight carries no credentials and passes; a request that
		// only dresses like one does not.
		{"s3cret", "", http.MethodOptions, cors, http.StatusTeapot},
		{"s3cret", "", http.MethodPost, cors, http.StatusUnauthorized},
		{"s3cret", "", http.MethodGet, cors, http.StatusUnauthorized},
		{"s3cret", "", http.MethodDelete, cors, http.StatusUnauthorized},
		{"s3cret", "", http.MethodOptions, map[string]string{"Origin": "http://localhost:6274"}, http.StatusUnauthorized},
		{"s3cret", "", http.MethodOptions, map[string]string{"Access-Control-Request-Method": "POST"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		method := tt.method
		if method == "" {
			method = http.MethodPost
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, "/mcp", strings.NewReader("{}"))
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		for k, v := range tt.extra {
			req.Header.Set(k, v)
		}
		bearer(tt.token, ok).ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("token %q, %s with header %q and %v: status %d, want %d", tt.token, method, tt.header, tt.extra, rec.Code, tt.want)
		}
		if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a WWW-Authenticate: Bearer challenge")
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	allowed, err := allowedOrigins([]string{"https://App.Example.com:443", "http://tool.test:8080"})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		origins []string
		want    int
	}{
		{nil, http.StatusTeapot}, // not a browser
		{[]string{"http://localhost:6274"}, http.StatusTeapot},
		{[]string{"http://127.0.0.1:3000"}, http.StatusTeapot},
		{[]string{"https://[::1]"}, http.StatusTeapot},
		{[]string{"https://app.example.com"}, http.StatusTeapot},
		{[]string{"http://tool.test:8080"}, http.StatusTeapot},
		{[]string{"https://evil.example.com"}, http.StatusForbidden},
		{[]string{"http://app.example.com"}, http.StatusForbidden}, // another scheme is another origin
		{[]string{"http://tool.test:8081"}, http.StatusForbidden},
		{[]string{"http://localhost.evil.com"}, http.StatusForbidden},
		{[]string{"null"}, http.StatusForbidden},
		{[]string{"http://localhost:1", "https://evil.example.com"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
		for _, o := range tt.origins {
			req.Header.Add("Origin", o)
		}
		checkOrigin(allowed, ok).ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("Origin %q: status %d, want %d", tt.origins, rec.Code, tt.want)
		}
	}
}

// TestHTTPBrowserOrigins drives a real server the way a browser would: a
// web client on an allowed origin gets through CORS with the token; any
// other origin is refused, preflight included.
func TestHTTPBrowserOrigins(t *testing.T) {
	s, err := New(Options{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, l, HTTPOptions{Token: "t0ken", AllowOrigins: []string{"https://app.example.com"}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	})
	url := "http://" + l.Addr().String() + EndpointPath
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"web","version":"1"}}}`
	tests := []struct {
		name, method, origin string
		token                bool
		want                 int
		wantHeaders          map[string]string // header → a part of its value
	}{
		{"preflight, allowed origin", http.MethodOptions, "https://app.example.com", false, http.StatusNoContent,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Authorization"}},
		{"preflight, loopback origin", http.MethodOptions, "http://localhost:5173", false, http.StatusNoContent,
			map[string]string{"Access-Control-Allow-Headers": "Mcp-Protocol-Version"}},
		{"preflight, foreign origin", http.MethodOptions, "https://evil.example.com", false, http.StatusForbidden, nil},
		{"request, allowed origin", http.MethodPost, "https://app.example.com", true, http.StatusOK,
			map[string]string{"Access-Control-Expose-Headers": "Mcp-Session-Id", "Mcp-Session-Id": ""}},
		{"request, allowed origin, no token", http.MethodPost, "https://app.example.com", false, http.StatusUnauthorized, nil},
		{"request, foreign origin", http.MethodPost, "https://evil.example.com", true, http.StatusForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url, strings.NewReader(initialize))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version")
			}
			if tt.token {
				req.Header.Set("Authorization", "Bearer t0ken")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			for h, part := range tt.wantHeaders {
				if v := resp.Header.Get(h); v == "" || !strings.Contains(v, part) {
					t.Errorf("%s: %q, want it to contain %q", h, v, part)
				}
			}
		})
	}
}

// TestHTTPBodyLimit: a POST body over MaxMessageBytes is refused, with its
// length declared (413 at once) or not (read no further than the limit),
// and the server goes on answering.
func TestHTTPBodyLimit(t *testing.T) {
	s, err := New(Options{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := s.httpHandler(HTTPOptions{Token: "t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	post := func(body io.Reader, length int64) (int, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+EndpointPath, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer t0ken")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	huge := func() io.Reader {
		// An initialize whose padding makes it one byte over the limit,
		// streamed rather than held.
		head := initialize[:len(initialize)-1] + `,"pad":"`
		return io.MultiReader(strings.NewReader(head),
			io.LimitReader(repeatReader('x'), MaxMessageBytes+1-int64(len(head))-2), strings.NewReader(`"}`))
	}
	if code, body := post(huge(), MaxMessageBytes+1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared length over the limit: %d %.200s, want 413", code, body)
	}
	if code, body := post(huge(), -1); code == http.StatusOK && !strings.Contains(body, "error") {
		t.Errorf("undeclared length over the limit: %d %.200s, want a refusal", code, body)
	}
	if code, body := post(strings.NewReader(initialize), int64(len(initialize))); code != http.StatusOK || !strings.Contains(body, `"result"`) {
		t.Errorf("initialize after the refusals: %d %.300s", code, body)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
