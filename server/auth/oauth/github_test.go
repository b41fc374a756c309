package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

// gitHub plays github.com on loopback over real HTTP: the OAuth app's
// authorize page (approving at once), the access_token endpoint (which
// checks the client, the code and the PKCE verifier), and the user API's
// /user and /user/emails for the token it issued.
type gitHub struct {
	URL string
	// emails is what /user/emails answers.
	emails []map[string]any

	mu        sync.Mutex
	challenge string
	token     string
}

const ghSecret = "gh-client-secret-77e0"

func startGitHub(t *testing.T) *gitHub {
	gh := &gitHub{emails: []map[string]any{
		{"email": "ada@users.noreply.example", "primary": false, "verified": true},
		{"email": "Ada@Example.test", "primary": true, "verified": true},
	}}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	gh.URL = ts.URL
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-app" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "user:email") {
			http.Error(w, "bad authorize request "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		gh.mu.Lock()
		gh.challenge = q.Get("code_challenge")
		gh.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=gh-code&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		gh.mu.Lock()
		defer gh.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("client_id") != "gh-app" || r.PostFormValue("client_secret") != ghSecret || r.PostFormValue("code") != "gh-code" ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != gh.challenge {
			// GitHub answers a bad code with 200 and an error field.
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
			return
		}
		gh.token = "gho_" + base64.RawURLEncoding.EncodeToString(sum[:12])
		json.NewEncoder(w).Encode(map[string]string{"access_token": gh.token, "token_type": "bearer", "scope": "read:user,user:email"})
	})
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		gh.mu.Lock()
		defer gh.mu.Unlock()
		if gh.token == "" || r.Header.Get("Authorization") != "Bearer "+gh.token {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			json.NewEncoder(w).Encode(map[string]any{"id": 583231, "login": "ada-l", "name": "Ada Lovelace", "email": nil})
		}
	})
	mux.HandleFunc("GET /api/v3/user/emails", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			json.NewEncoder(w).Encode(gh.emails)
		}
	})
	return gh
}

func withGitHub(t *testing.T, gh *gitHub) func(*server.Config) {
	return func(c *server.Config) {
		// GitHub Enterprise's layout: the API under BASE/api/v3.
		c.GitHub = &server.GitHubConfig{ClientID: "gh-app", ClientSecretFile: secretFile(t, ghSecret), BaseURL: gh.URL}
	}
}

// GitHub sign-in end to end against a scripted GitHub: the OAuth app's
// flow with PKCE, then the user API; the primary verified email finds the
// user, the identity is ("github", numeric ID), the token is not kept.
// With the primary address unverified, nothing is linked.
func TestGitHubSignIn(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		gh := startGitHub(t)
		h := newHarness(t, e, false, withGitHub(t, gh))
		h.user("ada@example.test")
		if _, body := h.browser().get(h.URL + "/signin"); !strings.Contains(body, `id="signin-github"`) {
			t.Fatalf("no GitHub button:\n%s", body)
		}
		b := h.browser()
		resp, body := b.signIn("github", "/account", "")
		if resp.StatusCode != http.StatusSeeOther || b.me() != "ada@example.test" {
			t.Fatalf("GitHub sign-in: %s, me %q\n%s", resp.Status, b.me(), body)
		}
		if n := h.count(`SELECT COUNT(*) FROM identities WHERE provider = 'github' AND subject = '583231' AND email = 'ada@example.test'`); n != 1 {
			t.Fatalf("%d github identities", n)
		}
		if s := h.events(audit.SignedIn); len(s) != 1 || !strings.Contains(s[0].Detail, "method=github ") {
			t.Fatalf("sign-ins audited: %+v", s)
		}
		dbtest.AssertNotStored(t, h.DB, gh.token)
		dbtest.AssertNotStored(t, h.DB, ghSecret)

		// Someone whose primary address GitHub has not verified.
		gh.emails = []map[string]any{{"email": "bob@example.test", "primary": true, "verified": false}}
		h.user("bob@example.test")
		h.DB.Exec(`DELETE FROM identities`)
		b = h.browser()
		if resp, body := b.signIn("github", "", ""); resp.StatusCode != http.StatusForbidden || b.me() != "" {
			t.Fatalf("an unverified primary email: %s, me %q\n%s", resp.Status, b.me(), body)
		}
		if n := h.count(`SELECT COUNT(*) FROM identities`); n != 0 {
			t.Fatalf("%d identities linked to an unverified email", n)
		}
	})
}
