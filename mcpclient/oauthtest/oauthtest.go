// Package oauthtest starts, for tests, an MCP server that asks for OAuth
// and the authorization server it trusts: oidc-provider (npm, pinned by
// test/e2e/oidc, installed by test/install.sh) run as an MCP authorization
// server by test/e2e/oidc/mcp-provider.mjs, and mcp-go's streamable HTTP
// server behind a resource server that checks its JWTs; and a browser
// that signs in on the provider's pages.
package oauthtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/server/auth/oauth/optest"
)

// hangGuard bounds waits that only a broken peer would make long.
const hangGuard = 30 * time.Second

// moduleRoot is the folder of go.mod above the test's.
func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("oauthtest: no go.mod above the test's folder")
		}
		dir = up
	}
}

// StartAuthServer runs oidc-provider (npm, pinned by test/e2e/oidc) as an
// MCP authorization server (test/e2e/oidc/mcp-provider.mjs) and returns
// its issuer.
func StartAuthServer(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(moduleRoot(t), "test", "e2e", "oidc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		t.Fatal("oidc-provider is not installed: run test/install.sh")
	}
	cmd := exec.Command("node", "mcp-provider.mjs")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe() // closed at the end: the provider exits
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("oidc-provider: %s", stderr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		var hello struct{ Issuer string }
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			json.Unmarshal(sc.Bytes(), &hello)
		}
		ready <- hello.Issuer
		io.Copy(io.Discard, stdout)
	}()
	select {
	case issuer := <-ready:
		if issuer == "" {
			t.Fatal("oidc-provider did not start")
		}
		return issuer
	case <-time.After(hangGuard):
		t.Fatal("oidc-provider did not start")
		return ""
	}
}

// Protected is mcp-go's streamable HTTP server behind a resource
// server that takes only the authorization server's JWTs issued for it
// (signature by its JWKS, issuer, audience, expiry), answering others 401
// with its RFC 9728 metadata; "whoami" answers the token's subject.
type Protected struct {
	URL string
	mu  sync.Mutex
	// tokens are the access tokens accepted, in order.
	tokens []string
}

// StartProtected starts a Protected server of issuer's tokens until the
// test ends.
func StartProtected(t testing.TB, issuer string) *Protected {
	t.Helper()
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	getJSON(t, issuer+"/.well-known/openid-configuration", &disc)
	var keys jose.JSONWebKeySet
	getJSON(t, disc.JWKS, &keys)

	ps := &Protected{}
	mcpSrv := server.NewMCPServer("protected", "1", server.WithToolCapabilities(false))
	mcpSrv.AddTool(mcp.NewTool("whoami", mcp.WithReadOnlyHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("you are " + req.Header.Get("X-Subject")), nil
		})
	h := server.NewStreamableHTTPServer(mcpSrv)
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	ps.URL = ts.URL + "/mcp"
	metadata := ts.URL + "/.well-known/oauth-protected-resource/mcp"
	mux.HandleFunc("/.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"resource": ps.URL, "authorization_servers": []string{issuer}, "scopes_supported": []string{"mcp"}})
	})
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var claims jwt.Claims
		if ok {
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
			if err == nil {
				err = tok.Claims(keys, &claims)
			}
			if err == nil {
				err = claims.Validate(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{ps.URL}, Time: time.Now()})
			}
			ok = err == nil
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, metadata))
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		ps.mu.Lock()
		if n := len(ps.tokens); n == 0 || ps.tokens[n-1] != raw {
			ps.tokens = append(ps.tokens, raw)
		}
		ps.mu.Unlock()
		r.Header.Set("X-Subject", claims.Subject)
		h.ServeHTTP(w, r)
	})
	return ps
}

// Accepted are the access tokens the server took, in order.
func (ps *Protected) Accepted() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]string(nil), ps.tokens...)
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

// Browser completes the authorization page as a person would: it follows
// the address, signs in as login on the provider's forms and consents, and
// follows the redirect back to Loom's loopback listener.
func Browser(t testing.TB, login string) func(string) error {
	return func(authURL string) error {
		jar, _ := cookiejar.New(nil)
		// The forms are followed; the way back to Loom is taken last.
		c := &http.Client{Jar: jar, Timeout: hangGuard, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		page, err := c.Get(authURL)
		if err != nil {
			return err
		}
		back := optest.Login(t, c, page, login)
		back.Body.Close()
		end, err := c.Get(back.Header.Get("Location"))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(end.Body)
		end.Body.Close()
		if !strings.Contains(string(body), "Signed in to") {
			t.Errorf("the browser ended at %s: %d %.300s", end.Request.URL, end.StatusCode, body)
		}
		return nil
	}
}
