package mcp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// EndpointPath is where the streamable HTTP transport is served.
const EndpointPath = "/mcp"

// ErrTokenRequired refuses a non-loopback address without a bearer token:
// anyone who can reach the port could otherwise edit the workspace.
var ErrTokenRequired = errors.New("a bearer token (--token or LOOM_MCP_TOKEN) is required to listen on a non-loopback address")

// HTTPAddr checks an --http address and fills in the host: "PORT" or
// ":PORT" listen on 127.0.0.1. Any host that is not loopback needs a token.
func HTTPAddr(addr, token string) (string, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--http %q: want HOST:PORT or :PORT", addr)
	}
	if port == "" {
		return "", fmt.Errorf("--http %q: the port is missing", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if !isLoopback(host) && token == "" {
		return "", fmt.Errorf("--http %s: %w", addr, ErrTokenRequired)
	}
	return net.JoinHostPort(host, port), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// HTTPHandler serves the streamable HTTP transport at EndpointPath. With a
// token, every request must carry "Authorization: Bearer TOKEN". Requests
// on a loopback address whose Host is not loopback are refused (DNS
// rebinding protection).
func (s *Server) HTTPHandler(token string) http.Handler {
	h, _ := s.httpHandler(token)
	return h
}

func (s *Server) httpHandler(token string) (http.Handler, *server.StreamableHTTPServer) {
	streamable := server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath(EndpointPath),
		server.WithStreamableHTTPLogger(s.log),
	)
	mux := http.NewServeMux()
	observed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		streamable.ServeHTTP(observingResponse{ResponseWriter: w, written: s.written}, r)
	})
	mux.Handle(EndpointPath, bearer(token, observed))
	return mux, streamable
}

// bearer requires the token when one is set, compared in constant time.
func bearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loom"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the HTTP transport on l until ctx ends, then shuts down,
// giving running calls a few seconds to answer.
func (s *Server) ServeHTTP(ctx context.Context, l net.Listener, token string) error {
	h, streamable := s.httpHandler(token)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Listening streams never end by themselves: close them first.
	streamable.CloseSessions(shutdownCtx)
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
