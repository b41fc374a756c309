// Package optest starts a real OpenID provider for tests: oidc-provider
// (certified, npm, pinned by test/e2e/oidc's lockfile and installed by
// test/install.sh) under Node on a free loopback port, and signs in
// through its login and consent forms as a browser would.
package optest

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Client is a client registered with the provider.
type Client struct {
	ID           string   `json:"client_id"`
	Secret       string   `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
}

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is its URL (http://127.0.0.1:PORT).
	Issuer string
}

// suite is test/e2e/oidc, found from the module's root.
func suite(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test", "e2e", "oidc")
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("optest: no go.mod above the test's folder")
		}
		dir = up
	}
}

// Start runs a provider that knows clients, until the test ends.
func Start(t testing.TB, clients ...Client) *Provider {
	t.Helper()
	dir := suite(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		t.Fatal("oidc-provider is not installed: run test/install.sh")
	}
	conf, err := json.Marshal(clients)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "provider.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOOM_OP_CLIENTS="+string(conf))
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe() // closed when the test ends: the provider exits
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
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
		return &Provider{Issuer: issuer}
	case <-time.After(30 * time.Second):
		t.Fatal("oidc-provider did not start in 30 s")
		return nil
	}
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	hiddenRE   = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"/?>`)
)

// Login answers the provider's pages, starting at page (its login form),
// as login, posting each form with c until an answer is not a form page:
// the redirect back to the client, or an error. c follows or stops at
// redirects as the caller chose.
func Login(t testing.TB, c *http.Client, page *http.Response, login string) *http.Response {
	t.Helper()
	for i := 0; page.StatusCode == http.StatusOK && i < 4; i++ {
		b, _ := io.ReadAll(page.Body)
		page.Body.Close()
		m := formAction.FindSubmatch(b)
		if m == nil {
			t.Fatalf("optest: no form at %s: %.300s", page.Request.URL, b)
		}
		action, err := page.Request.URL.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			t.Fatal(err)
		}
		v := url.Values{"login": {login}, "password": {"any"}}
		for _, h := range hiddenRE.FindAllSubmatch(b, -1) {
			v.Set(string(h[1]), html.UnescapeString(string(h[2])))
		}
		if page, err = c.PostForm(action.String(), v); err != nil {
			t.Fatal(err)
		}
	}
	return page
}
