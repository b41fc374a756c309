package mcpclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// OAuth for streamable HTTP servers that ask for it (MCP's authorization:
// RFC 9728 protected resource metadata, RFC 8414 discovery, RFC 7591
// dynamic registration, authorization code with PKCE, refresh) is mcp-go's
// (client/transport/oauth.go). Loom adds where the result is kept: one
// 0600 file per server under Loom's config folder, holding the client's
// registration and its tokens, bound to the server's URL, so a token is
// never sent to another address the entry is later changed to.

// AuthDirName is the folder, beside Loom's config file, of the servers'
// sign-ins.
const AuthDirName = "mcp-oauth"

// LoginTimeout bounds waiting for the browser to come back.
const LoginTimeout = 10 * time.Minute

// credentials is what a sign-in leaves for later runs.
type credentials struct {
	// URL is the server's: the file is for it alone.
	URL                     string           `json:"url"`
	ClientID                string           `json:"client_id"`
	ClientSecret            string           `json:"client_secret,omitempty"`
	TokenEndpointAuthMethod string           `json:"token_endpoint_auth_method,omitempty"`
	RedirectURI             string           `json:"redirect_uri"`
	ResourceMetadataURL     string           `json:"resource_metadata_url,omitempty"`
	Token                   *transport.Token `json:"token,omitempty"`
}

// tokenFile is a server's sign-in on disk, and mcp-go's TokenStore over
// it: a refreshed token is written back at once.
type tokenFile struct {
	path string
	mu   sync.Mutex
	cred credentials
}

// authPath is where a server's sign-in is kept: its name and a digest of
// its URL, so that another URL under the same name finds none.
func authPath(dir, name, serverURL string) string {
	sum := sha256.Sum256([]byte(serverURL))
	return filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:6])+".json")
}

// loadTokenFile reads a server's sign-in; nil when there is none.
func loadTokenFile(dir, name, serverURL string) (*tokenFile, error) {
	if dir == "" {
		return nil, nil
	}
	path := authPath(dir, name, serverURL)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tf := &tokenFile{path: path}
	if err := json.Unmarshal(data, &tf.cred); err != nil {
		return nil, fmt.Errorf("%s: %w (sign in again with loom mcp-servers login %s)", path, err, name)
	}
	if tf.cred.URL != serverURL || tf.cred.ClientID == "" {
		return nil, nil
	}
	return tf, nil
}

func (t *tokenFile) GetToken(ctx context.Context) (*transport.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cred.Token == nil {
		return nil, transport.ErrNoToken
	}
	tok := *t.cred.Token
	return &tok, nil
}

func (t *tokenFile) SaveToken(ctx context.Context, tok *transport.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cred.Token = tok
	return t.saveLocked()
}

func (t *tokenFile) saveLocked() error {
	data, err := json.MarshalIndent(t.cred, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(t.path, append(data, '\n'), 0o600)
}

// oauthConfig is mcp-go's configuration for a signed-in server.
func (t *tokenFile) oauthConfig() transport.OAuthConfig {
	return transport.OAuthConfig{
		ClientID:                     t.cred.ClientID,
		ClientSecret:                 t.cred.ClientSecret,
		TokenEndpointAuthMethod:      t.cred.TokenEndpointAuthMethod,
		RedirectURI:                  t.cred.RedirectURI,
		ProtectedResourceMetadataURL: t.cred.ResourceMetadataURL,
		PKCEEnabled:                  true,
		TokenStore:                   t,
	}
}

// needsLogin turns mcp-go's "authorization required" into what to do.
func (s *Server) needsLogin(err error) error {
	if !client.IsAuthorizationRequiredError(err) && !client.IsOAuthAuthorizationRequiredError(err) {
		return nil
	}
	if s.authDir == "" {
		return fmt.Errorf("MCP server %s asks for a sign-in, which Loom does only for servers in its config file "+
			"(add it there, then run loom mcp-servers login %s)", s.Name, s.Name)
	}
	return fmt.Errorf("MCP server %s needs you to sign in: run loom mcp-servers login %s", s.Name, s.Name)
}

// Login signs in to the server through the browser: it finds the
// server's authorization server (the 401's resource metadata, else the
// well-known places), registers Loom as a client there, and sends the user
// to the authorization page, printing its address with say and handing it
// to open (a browser; nil for none). The page comes back to a loopback
// listener of Loom's with the code, which is exchanged (with the PKCE
// verifier) for tokens kept in the server's 0600 file. A server that lets
// Loom in without signing in is told apart.
func (s *Server) Login(ctx context.Context, say func(string), open func(string) error) error {
	kind, err := s.cfg.transport()
	if err != nil {
		return err
	}
	if kind != HTTP {
		return fmt.Errorf("MCP server %s runs a command: only HTTP servers sign in", s.Name)
	}
	if s.authDir == "" {
		return errors.New("no place to keep the sign-in: set HOME or XDG_CONFIG_HOME")
	}
	ctx, cancel := context.WithTimeout(ctx, LoginTimeout)
	defer cancel()

	metadataURL, err := s.probe(ctx)
	if err != nil {
		return err
	}

	// The loopback listener the authorization page redirects to.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://%s/callback", ln.Addr())
	tf := &tokenFile{path: authPath(s.authDir, s.Name, s.cfg.URL),
		cred: credentials{URL: s.cfg.URL, RedirectURI: redirect, ResourceMetadataURL: metadataURL}}
	cfg := tf.oauthConfig()
	cfg.Scopes = s.scopes(ctx, metadataURL)
	cfg.TokenStore = transport.NewMemoryTokenStore() // the file is written once all of it is known
	h := transport.NewOAuthHandler(cfg)
	h.SetBaseURL(s.cfg.URL)
	if err := h.RegisterClient(ctx, "Loom"); err != nil {
		return fmt.Errorf("registering Loom with %s's authorization server: %w", s.Name, err)
	}
	verifier, err := transport.GenerateCodeVerifier()
	if err != nil {
		return err
	}
	state, err := transport.GenerateState()
	if err != nil {
		return err
	}
	authURL, err := h.GetAuthorizationURL(ctx, state, transport.GenerateCodeChallenge(verifier))
	if err != nil {
		return fmt.Errorf("MCP server %s: %w", s.Name, err)
	}

	type answer struct{ code, state, err string }
	answers := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		a := answer{q.Get("code"), q.Get("state"), q.Get("error")}
		if d := q.Get("error_description"); d != "" {
			a.err += ": " + d
		}
		msg := "Signed in to " + s.Name + ". You can close this page and go back to Loom."
		if a.err != "" || a.code == "" {
			msg = "Signing in to " + s.Name + " did not work: " + a.err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Loom</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case answers <- a:
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	say(authURL)
	if open != nil {
		open(authURL) // without a browser, the address printed is the way
	}
	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		return fmt.Errorf("signing in to %s: no answer from the browser: %w", s.Name, ctx.Err())
	}
	if a.err != "" {
		return fmt.Errorf("signing in to %s: %s", s.Name, a.err)
	}
	if a.code == "" {
		return fmt.Errorf("signing in to %s: the browser came back without a code", s.Name)
	}
	if err := h.ProcessAuthorizationResponse(ctx, a.code, a.state, verifier); err != nil {
		return fmt.Errorf("signing in to %s: %w", s.Name, err)
	}
	tok, err := cfg.TokenStore.GetToken(ctx)
	if err != nil {
		return err
	}
	tf.cred.ClientID, tf.cred.ClientSecret = h.GetClientID(), h.GetClientSecret()
	tf.cred.TokenEndpointAuthMethod = h.GetTokenEndpointAuthMethod()
	tf.cred.Token = tok
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if err := tf.saveLocked(); err != nil {
		return err
	}
	// The next start uses the sign-in.
	s.mu.Lock()
	c := s.conn
	s.conn, s.failures, s.retryAt = nil, 0, time.Time{}
	s.mu.Unlock()
	if c != nil {
		c.c.Close()
	}
	return nil
}

// probe sends an initialize without credentials: a server that asks for
// them answers 401, naming its resource metadata when it follows RFC 9728.
func (s *Server) probe(ctx context.Context) (metadataURL string, err error) {
	tr, err := transport.NewStreamableHTTP(s.cfg.URL, transport.WithHTTPHeaders(s.cfg.Headers))
	if err != nil {
		return "", err
	}
	c := client.NewClient(tr)
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "loom", Version: "1"}
	_, err = c.Initialize(ctx, init)
	switch {
	case err == nil:
		return "", fmt.Errorf("MCP server %s let Loom in without signing in: there is nothing to sign in to", s.Name)
	case client.IsAuthorizationRequiredError(err):
		return client.GetResourceMetadataURL(err), nil
	}
	return "", fmt.Errorf("MCP server %s: %w", s.Name, err)
}

// scopes are those the server's resource metadata says it supports, which
// MCP has a client ask for when the 401 names none (mcp-go asks for what
// it is given); none when the metadata cannot be read (mcp-go then says
// why as it discovers the authorization server).
func (s *Server) scopes(ctx context.Context, metadataURL string) []string {
	if metadataURL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURL, nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var prm struct {
		Scopes []string `json:"scopes_supported"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&prm) != nil {
		return nil
	}
	return prm.Scopes
}

// Logout forgets the server's sign-in; false when there was none.
func (s *Server) Logout() (bool, error) {
	if s.authDir == "" || s.cfg.URL == "" {
		return false, nil
	}
	err := os.Remove(authPath(s.authDir, s.Name, s.cfg.URL))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SignedIn reports whether the server has a sign-in to use.
func (s *Server) SignedIn() bool {
	tf, err := loadTokenFile(s.authDir, s.Name, s.cfg.URL)
	return err == nil && tf != nil
}
