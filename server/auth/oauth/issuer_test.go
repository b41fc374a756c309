package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

// issuer is a scripted OpenID issuer on loopback: real discovery, keys,
// authorization redirect and token endpoint over HTTP, signing whatever
// ID token claims the test makes (the real provider never signs a bad one).
type issuer struct {
	t   *testing.T
	URL string
	key *rsa.PrivateKey
	// claims edits each ID token's claims before signing; sign, if set,
	// signs instead of the published key.
	claims func(c map[string]any)
	sign   *rsa.PrivateKey
	// userinfo edits what the userinfo endpoint answers.
	userinfo func(c map[string]any)

	mu          sync.Mutex
	nonce       string
	challenge   string
	accessToken string
}

func startIssuer(t *testing.T) *issuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{t: t, key: key}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	is.URL = ts.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": is.URL, "authorization_endpoint": is.URL + "/authorize",
			"token_endpoint": is.URL + "/token", "jwks_uri": is.URL + "/jwks", "userinfo_endpoint": is.URL + "/userinfo", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		if is.accessToken == "" || r.Header.Get("Authorization") != "Bearer "+is.accessToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		c := map[string]any{"sub": "u-1", "email": "ada@example.test", "email_verified": true}
		if is.userinfo != nil {
			is.userinfo(c)
		}
		json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		is.mu.Lock()
		is.nonce, is.challenge = q.Get("nonce"), q.Get("code_challenge")
		is.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=the-code&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		id, sec, _ := r.BasicAuth()
		if r.PostFormValue("code") != "the-code" || base64.RawURLEncoding.EncodeToString(sum[:]) != is.challenge || id != "loom" || sec != "issuer-secret" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now().Unix()
		c := map[string]any{"iss": is.URL, "sub": "u-1", "aud": "loom", "iat": now, "exp": now + 300, "nonce": is.nonce,
			"email": "ada@example.test", "email_verified": true}
		if is.claims != nil {
			is.claims(c)
		}
		key := is.key
		if is.sign != nil {
			key = is.sign
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			t.Error(err)
			return
		}
		payload, _ := json.Marshal(c)
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Error(err)
			return
		}
		idt, _ := jws.CompactSerialize()
		is.accessToken = "issuer-access-token-" + base64.RawURLEncoding.EncodeToString(sum[:8])
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": is.accessToken, "token_type": "Bearer", "expires_in": 300, "id_token": idt})
	})
	return is
}

func withIssuer(is *issuer) func(*server.Config) {
	return func(c *server.Config) {
		c.OIDC = append(c.OIDC, server.OIDCConfig{Name: "corp", Issuer: is.URL, ClientID: "loom", ClientSecretFile: secretFile(is.t, "issuer-secret")})
	}
}

// An ID token must pass every check: the issuer's signature, its issuer,
// this server as audience (and as authorized party among several),
// unexpired, this sign-in's nonce; the email counts only when verified.
// Each failure is refused, links nothing and is audited.
func TestIDTokenChecks(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		claims   func(map[string]any)
		sign     *rsa.PrivateKey
		status   int
		userinfo func(map[string]any)
	}{
		{"valid", nil, nil, http.StatusSeeOther, nil},
		{"email_verified as a string", func(c map[string]any) { c["email_verified"] = "true" }, nil, http.StatusSeeOther, nil},
		{"another audience", func(c map[string]any) { c["aud"] = "someone-else" }, nil, http.StatusBadRequest, nil},
		{"issued to another party", func(c map[string]any) { c["aud"] = []string{"loom", "someone-else"}; c["azp"] = "someone-else" }, nil, http.StatusBadRequest, nil},
		{"another issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }, nil, http.StatusBadRequest, nil},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil, http.StatusBadRequest, nil},
		{"another sign-in's nonce", func(c map[string]any) { c["nonce"] = "not-this-one" }, nil, http.StatusBadRequest, nil},
		{"no nonce", func(c map[string]any) { delete(c, "nonce") }, nil, http.StatusBadRequest, nil},
		{"signed by another key", nil, other, http.StatusBadRequest, nil},
		{"email not verified", func(c map[string]any) { c["email_verified"] = false }, nil, http.StatusForbidden, nil},
		{"email from userinfo", func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }, nil, http.StatusSeeOther, nil},
		{"userinfo of another subject", func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }, nil, http.StatusBadRequest,
			func(c map[string]any) { c["sub"] = "u-2" }},
		{"userinfo without a verified email", func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }, nil, http.StatusForbidden,
			func(c map[string]any) { c["email_verified"] = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := startIssuer(t)
			is.claims, is.sign, is.userinfo = tc.claims, tc.sign, tc.userinfo
			h := newHarness(t, db.SQLite, false, withIssuer(is))
			h.user("ada@example.test")
			b := h.browser()
			resp, body := b.signIn("corp", "", "")
			if resp.StatusCode != tc.status {
				t.Fatalf("%s, want %d\n%s", resp.Status, tc.status, body)
			}
			linked := h.count(`SELECT COUNT(*) FROM identities WHERE provider = $1 AND subject = 'u-1'`, is.URL)
			if tc.status != http.StatusSeeOther {
				if sessionCookie(resp) != nil || b.me() != "" || linked != 0 {
					t.Fatalf("refused, yet cookie %v, me %q, %d identities", sessionCookie(resp), b.me(), linked)
				}
				if r := h.events(audit.SignInRefused); len(r) != 1 {
					t.Fatalf("refusals audited: %+v", r)
				}
				return
			}
			if b.me() != "ada@example.test" || linked != 1 {
				t.Fatalf("signed in as %q, %d identities", b.me(), linked)
			}
			// The provider's access token and the client secret are not kept.
			dbtest.AssertNotStored(t, h.DB, is.accessToken)
			dbtest.AssertNotStored(t, h.DB, "issuer-secret")
		})
	}
}

// A configuration with a bad provider is an error at start, naming it.
func TestProviderConfigChecked(t *testing.T) {
	good := secretFile(t, "s")
	for _, tc := range []struct {
		name string
		oidc server.OIDCConfig
		want string
	}{
		{"bad name", server.OIDCConfig{Name: "Bad Name", Issuer: "https://id.example", ClientID: "c", ClientSecretFile: good}, "provider name"},
		{"github is taken", server.OIDCConfig{Name: "github", Issuer: "https://id.example", ClientID: "c", ClientSecretFile: good}, "taken"},
		{"plain HTTP elsewhere", server.OIDCConfig{Name: "x", Issuer: "http://id.example", ClientID: "c", ClientSecretFile: good}, "HTTPS"},
		{"no client", server.OIDCConfig{Name: "x", Issuer: "https://id.example", ClientSecretFile: good}, "client_id"},
		{"no secret file", server.OIDCConfig{Name: "x", Issuer: "https://id.example", ClientID: "c", ClientSecretFile: "/nonexistent/secret"}, "client secret"},
		{"bad domain", server.OIDCConfig{Name: "x", Issuer: "https://id.example", ClientID: "c", ClientSecretFile: good,
			SignupRule: server.SignupRule{SignupDomains: []string{"@Corp.test"}}}, "signup_domains"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.Config{Database: dbtest.URL(t, db.SQLite), OIDC: []server.OIDCConfig{tc.oidc}}
			team, err := server.Open(t.Context(), cfg, nil)
			if err == nil {
				team.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
