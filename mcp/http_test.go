package mcp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPAddr(t *testing.T) {
	tests := []struct {
		addr, token, want string
		wantErr           error
	}{
		{":7777", "", "127.0.0.1:7777", nil},
		{"7777", "", "127.0.0.1:7777", nil},
		{"localhost:7777", "", "localhost:7777", nil},
		{"127.0.0.2:7777", "", "127.0.0.2:7777", nil},
		{"[::1]:7777", "", "[::1]:7777", nil},
		{"0.0.0.0:7777", "", "", ErrTokenRequired},
		{"[::]:7777", "", "", ErrTokenRequired},
		{"example.com:7777", "", "", ErrTokenRequired},
		{"0.0.0.0:7777", "t", "0.0.0.0:7777", nil},
	}
	for _, tt := range tests {
		got, err := HTTPAddr(tt.addr, tt.token)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("HTTPAddr(%q, %q) = %q, %v; want %q, %v", tt.addr, tt.token, got, err, tt.want, tt.wantErr)
		}
	}
	for _, bad := range []string{"a:b:c", "host:"} {
		if _, err := HTTPAddr(bad, "t"); err == nil {
			t.Errorf("HTTPAddr(%q) accepted", bad)
		}
	}
}

func TestBearer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		token, header string
		want          int
	}{
		{"", "", http.StatusTeapot},
		{"s3cret", "Bearer s3cret", http.StatusTeapot},
		{"s3cret", "", http.StatusUnauthorized},
		{"s3cret", "Bearer s3cre", http.StatusUnauthorized},
		{"s3cret", "bearer s3cret", http.StatusUnauthorized},
		{"s3cret", "Basic s3cret", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		bearer(tt.token, ok).ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("token %q, header %q: status %d, want %d", tt.token, tt.header, rec.Code, tt.want)
		}
		if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a WWW-Authenticate: Bearer challenge")
		}
	}
}
