package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/mcpclient/oauthtest"
)

// TestOAuthLogin: an HTTP server that asks for OAuth is not started
// without a sign-in, and says which command signs in; `login` discovers
// its authorization server (RFC 9728, RFC 8414), registers Loom (RFC 7591)
// and completes the authorization code flow with PKCE through a browser;
// the tokens are kept in a 0600 file bound to the server's URL, used by
// later processes, refreshed when expired, and never logged.
func TestOAuthLogin(t *testing.T) {
	issuer := oauthtest.StartAuthServer(t)
	ps := oauthtest.StartProtected(t, issuer)
	dir := t.TempDir()
	configPath := filepath.Join(dir, "loom", "config.json")
	os.MkdirAll(filepath.Dir(configPath), 0o700)
	if err := os.WriteFile(configPath, fmt.Appendf(nil, `{"mcpServers": {"remote": {"url": %q}}}`, ps.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*hangGuard)
	defer cancel()
	openPool := func() (*Pool, *Server) {
		p, err := NewPool(configPath, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p, p.Set("").Servers()[0]
	}

	// Before signing in: no tools, and the way to sign in.
	p, srv := openPool()
	if ts := p.Set("").Tools(); len(ts) != 0 {
		t.Errorf("tools offered without a sign-in: %d", len(ts))
	}
	if err := srv.Err(); err == nil || !strings.Contains(err.Error(), "loom mcp-servers login remote") {
		t.Errorf("start error %v, want one naming loom mcp-servers login remote", err)
	}

	var said []string
	if err := srv.Login(ctx, func(s string) { said = append(said, s) }, oauthtest.Browser(t, "alice")); err != nil {
		t.Fatal(err)
	}
	if len(said) != 1 || !strings.HasPrefix(said[0], issuer) || !strings.Contains(said[0], "code_challenge_method=S256") {
		t.Errorf("the address shown: %q", said)
	}
	if !srv.SignedIn() {
		t.Error("SignedIn is false after signing in")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "loom", AuthDirName, "remote-*.json"))
	if len(files) != 1 {
		t.Fatalf("sign-in files %v", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the sign-in file: %v, %v", st.Mode(), err)
	}

	// A new process uses the sign-in.
	p, srv = openPool()
	call := func() string {
		t.Helper()
		res, err := srv.Call(ctx, "whoami", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Content[0].(mcp.TextContent).Text
	}
	if got := call(); got != "you are alice" {
		t.Errorf("whoami = %q", got)
	}
	if ts := p.Set("").Tools(); len(ts) != 1 || ts[0].Spec().Name != "remote__whoami" {
		t.Errorf("tools after signing in: %v", ts)
	}

	// An expired token is refreshed, and the new one kept.
	var cred credentials
	data, _ := os.ReadFile(files[0])
	json.Unmarshal(data, &cred)
	if cred.Token == nil || cred.Token.RefreshToken == "" {
		t.Fatalf("no refresh token was kept: %s", data)
	}
	first := cred.Token.AccessToken
	cred.Token.ExpiresAt = time.Now().Add(-time.Minute)
	data, _ = json.Marshal(cred)
	os.WriteFile(files[0], data, 0o600)
	p, srv = openPool()
	if got := call(); got != "you are alice" {
		t.Errorf("whoami after the refresh = %q", got)
	}
	data, _ = os.ReadFile(files[0])
	var after credentials
	json.Unmarshal(data, &after)
	if after.Token == nil || after.Token.AccessToken == first || after.Token.IsExpired() {
		t.Errorf("the refreshed token was not kept: %s", data)
	}
	if acc := ps.Accepted(); len(acc) < 2 || acc[len(acc)-1] != after.Token.AccessToken {
		t.Errorf("the server saw %d tokens, the last not the refreshed one", len(acc))
	}

	// The same name at another URL has no sign-in.
	other := &Server{Name: "remote", cfg: ServerConfig{URL: ps.URL + "?other"}, authDir: srv.authDir}
	if other.SignedIn() {
		t.Error("a sign-in was found for another URL")
	}

	for _, tok := range append(ps.Accepted(), after.Token.RefreshToken) {
		if strings.Contains(logs.String(), tok) {
			t.Fatal("a token was logged")
		}
	}

	// Signing out forgets it: the server asks again.
	if ok, err := srv.Logout(); !ok || err != nil {
		t.Fatalf("logout: %v, %v", ok, err)
	}
	p, srv = openPool()
	if _, err := srv.Call(ctx, "whoami", nil, nil); err == nil || !strings.Contains(err.Error(), "loom mcp-servers login remote") {
		t.Errorf("a call after logout: %v", err)
	}
}

// TestOAuthLoginRefused: a sign-in the user refuses, or that nothing
// needs, writes nothing.
func TestOAuthLoginRefused(t *testing.T) {
	open := httptest.NewServer(server.NewStreamableHTTPServer(server.NewMCPServer("open", "1")))
	t.Cleanup(open.Close)
	dir := t.TempDir()
	srv := &Server{Name: "open", cfg: ServerConfig{URL: open.URL + "/mcp"}, authDir: dir, log: slog.New(slog.DiscardHandler)}
	err := srv.Login(context.Background(), func(string) {}, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing to sign in to") {
		t.Errorf("login to an open server: %v", err)
	}
	stdio := &Server{Name: "cmd", cfg: ServerConfig{Command: "x"}, authDir: dir}
	if err := stdio.Login(context.Background(), func(string) {}, nil); err == nil || !strings.Contains(err.Error(), "only HTTP servers") {
		t.Errorf("login to a stdio server: %v", err)
	}

	// The user says no in the browser.
	issuer := oauthtest.StartAuthServer(t)
	ps := oauthtest.StartProtected(t, issuer)
	prot := &Server{Name: "remote", cfg: ServerConfig{URL: ps.URL}, authDir: dir, log: slog.New(slog.DiscardHandler)}
	deny := func(authURL string) error {
		// The authorization server sends the browser back with an error.
		u := strings.Replace(authURL, issuer+"/auth?", "", 1)
		redirect := ""
		for _, kv := range strings.Split(u, "&") {
			if v, ok := strings.CutPrefix(kv, "redirect_uri="); ok {
				redirect = v
			}
		}
		redirect = strings.ReplaceAll(strings.ReplaceAll(redirect, "%3A", ":"), "%2F", "/")
		resp, err := http.Get(redirect + "?error=access_denied&error_description=no")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := prot.Login(context.Background(), func(string) {}, deny); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("a refused sign-in: %v", err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("files written: %v", files)
	}
}

// syncWriter lets several goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestSignInBoundToURL: a sign-in is found only for the URL it was made
// for, whether the file was renamed or the URL changed under the name.
func TestSignInBoundToURL(t *testing.T) {
	const a, b = "https://a.example/mcp", "https://b.example/mcp"
	if authPath("d", "x", a) == authPath("d", "x", b) {
		t.Fatal("two URLs share a sign-in file")
	}
	tests := []struct {
		name     string
		fileFor  string // the URL the file's name is for
		inside   string // the URL written in it
		lookFor  string
		wantFind bool
	}{
		{"its own URL", a, a, a, true},
		{"another URL", a, a, b, false},
		{"a file copied to another URL's name", b, a, b, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data, _ := json.Marshal(credentials{URL: tt.inside, ClientID: "c", RedirectURI: "http://127.0.0.1:1/callback"})
			if err := os.WriteFile(authPath(dir, "x", tt.fileFor), data, 0o600); err != nil {
				t.Fatal(err)
			}
			tf, err := loadTokenFile(dir, "x", tt.lookFor)
			if err != nil || (tf != nil) != tt.wantFind {
				t.Errorf("found %v, %v; want found %v", tf != nil, err, tt.wantFind)
			}
		})
	}
}
