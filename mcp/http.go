package mcp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// EndpointPath is where the streamable HTTP transport is served.
const EndpointPath = "/mcp"

// ErrTokenRequired refuses a non-loopback address without a bearer token:
// anyone who can reach the port could otherwise edit the workspace.
var ErrTokenRequired = errors.New("a bearer token (--token or LOOM_MCP_TOKEN) is required to listen on a non-loopback address")

// HTTPOptions secure the streamable HTTP transport.
type HTTPOptions struct {
	// Token is the bearer token every request must carry. It may be empty
	// only with NoAuth.
	Token string
	// NoAuth serves without a token, on a loopback address only: any local
	// user can then use the server. It must be asked for explicitly.
	NoAuth bool
	// AllowOrigins are browser origins (scheme://host[:port]) allowed
	// besides the loopback ones.
	AllowOrigins []string
}

// HTTPAddr checks an --http address against the options and fills in the
// host: "PORT" or ":PORT" listen on 127.0.0.1. A host that is not loopback
// needs a given token; NoAuth is refused with a token and off loopback;
// every allowed origin must be a plain origin.
func HTTPAddr(addr string, o HTTPOptions) (string, error) {
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
	switch {
	case o.NoAuth && o.Token != "":
		return "", errors.New("--no-auth contradicts the token given (--token or LOOM_MCP_TOKEN): drop one")
	case !isLoopback(host) && o.NoAuth:
		return "", fmt.Errorf("--http %s: --no-auth is refused off loopback: %w", addr, ErrTokenRequired)
	case !isLoopback(host) && o.Token == "":
		return "", fmt.Errorf("--http %s: %w", addr, ErrTokenRequired)
	}
	if _, err := allowedOrigins(o.AllowOrigins); err != nil {
		return "", err
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

// allowedOrigins normalizes the --allow-origin values into a set.
func allowedOrigins(list []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, o := range list {
		n, _, ok := normalOrigin(o)
		if !ok {
			return nil, fmt.Errorf("--allow-origin %q: want an origin such as https://app.example.com or http://host:8080 (scheme, host, optional port; no path)", o)
		}
		set[n] = true
	}
	return set, nil
}

// normalOrigin returns an origin as browsers send it (lower case, without
// the scheme's default port) and its host name. Anything but an http(s)
// origin is refused.
func normalOrigin(origin string) (normal, host string, ok bool) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", false
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	hostPort := host
	if port != "" {
		hostPort = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		hostPort = "[" + host + "]"
	}
	return scheme + "://" + hostPort, host, true
}

// checkOrigin refuses, with 403, a request whose Origin is neither a
// loopback origin nor in allowed. Browsers send Origin on cross-origin
// requests, so a web page the user visits cannot drive the server, even
// through DNS rebinding (the MCP specification requires this check); a
// request without Origin comes from a client that is not a browser.
func checkOrigin(allowed map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origins := r.Header.Values("Origin")
		if len(origins) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		n, host, ok := normalOrigin(origins[0])
		if len(origins) > 1 || !ok || !(allowed[n] || isLoopback(host)) {
			http.Error(w, fmt.Sprintf("origin %q is not allowed (loopback origins are; add others with --allow-origin)", origins[0]), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// credential identifies what a request authenticated with: the digest of
// its bearer token (zero without one). Sessions are bound to it.
type credential [sha256.Size]byte

// bearerToken returns the token of an Authorization header, whose scheme
// is case-insensitive (RFC 9110, section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// credentialOf returns the credential a request carries.
func credentialOf(r *http.Request) credential {
	token, ok := bearerToken(r)
	if !ok {
		return credential{}
	}
	return sha256.Sum256([]byte(token))
}

// bearer requires the token when one is set. Digests are compared, in
// constant time, so neither the token nor its length leaks through timing.
func bearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPreflight(r) {
			// A browser's CORS preflight carries no credentials by design:
			// it asks what the real request may send, and mcp-go answers it
			// without running anything.
			next.ServeHTTP(w, r)
			return
		}
		got := credentialOf(r)
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loom"`)
			http.Error(w, "missing or wrong bearer token (Authorization: Bearer TOKEN)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// httpHandler serves the streamable HTTP transport at EndpointPath, behind
// the Origin check, the bearer token (unless NoAuth) and the session
// checks. Requests on a loopback address whose Host is not loopback are
// refused too (mcp-go's DNS rebinding protection).
// limitBody refuses a request body over max bytes, as stdio refuses a
// line: mcp-go reads a POST body whole. A declared length over the limit
// is answered 413 at once; an undeclared one stops being read there.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			http.Error(w, fmt.Sprintf("the request body is %d bytes, over the %d-byte limit", r.ContentLength, max), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) httpHandler(o HTTPOptions) (http.Handler, *server.StreamableHTTPServer, error) {
	if o.Token == "" && !o.NoAuth {
		return nil, nil, errors.New("mcp: an HTTP server needs a token, or NoAuth")
	}
	origins, err := allowedOrigins(o.AllowOrigins)
	if err != nil {
		return nil, nil, err
	}
	sessions := newSessions(maxSessions)
	streamable := server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath(EndpointPath),
		// The transport's own complaints are about writing to clients:
		// they never go to clients, where they could only loop.
		server.WithStreamableHTTPLogger(s.opts.Logger),
		server.WithSessionIdManagerResolver(sessions),
		server.WithSessionIdleTTL(sessionIdleTTL),
		// Browsers reach the server only from the origins checkOrigin lets
		// through, so CORS may allow any: a web client on an allowed
		// origin can then send the token and read the session id.
		server.WithStreamableHTTPCORS(
			server.WithCORSAllowedOrigins("*"),
			server.WithCORSAllowedHeaders("Content-Type", "Authorization", server.HeaderKeySessionID, mcpgo.HeaderProtocolVersion, "Last-Event-ID"),
			server.WithCORSExposedHeaders(server.HeaderKeySessionID),
		),
	)
	observed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		streamable.ServeHTTP(observingResponse{ResponseWriter: w, written: s.written}, r)
	})
	mux := http.NewServeMux()
	mux.Handle(EndpointPath, checkOrigin(origins, bearer(o.Token, limitBody(MaxMessageBytes, sessions.check(observed)))))
	return mux, streamable, nil
}

// ServeHTTP serves the HTTP transport on l until ctx ends, then shuts down,
// giving running calls a few seconds to answer.
func (s *Server) ServeHTTP(ctx context.Context, l net.Listener, o HTTPOptions) error {
	h, streamable, err := s.httpHandler(o)
	if err != nil {
		return err
	}
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
	// Listening streams never end by themselves: close them first (this
	// also stops the idle session sweeper).
	streamable.Shutdown(shutdownCtx)
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
