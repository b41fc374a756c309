package proxy_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/proxy"
)

// vertexToken is the access token the loopback token endpoint issues; the
// key search of TestMain looks for it too.
const vertexToken = "ya29.vertex-access-7c1e93b5d2f4"

// googleTokenEndpoint plays Google's OAuth token endpoint for service
// accounts over real HTTP: it takes a JWT bearer assertion, checks its
// signature with the account's public key and its claims, and issues a
// token. It counts the tokens issued.
func googleTokenEndpoint(t *testing.T, pub *rsa.PublicKey, issued *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		parts := strings.Split(r.Form.Get("assertion"), ".")
		if len(parts) != 3 {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			http.Error(w, `{"error":"invalid_grant","error_description":"bad signature"}`, http.StatusBadRequest)
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Iss, Scope, Aud string
		}
		json.Unmarshal(payload, &claims)
		if claims.Iss != "loom@loom-test.iam.gserviceaccount.com" || claims.Scope != "https://www.googleapis.com/auth/cloud-platform" ||
			claims.Aud != "http://"+r.Host+"/token" {
			http.Error(w, `{"error":"invalid_grant","error_description":"bad claims"}`, http.StatusBadRequest)
			return
		}
		issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": vertexToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A vertex upstream signs in with its service account (a JWT signed with
// its key, exchanged at the token endpoint) and sends the access token,
// reused across calls; the token never reaches the client.
func TestVertexUpstream(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var issued atomic.Int64
	tokens := googleTokenEndpoint(t, &key.PublicKey, &issued)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "loom-test", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "loom@loom-test.iam.gserviceaccount.com", "token_uri": tokens.URL + "/token",
	})
	saFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	gemini := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "one"}, {Text: "two"}}})
	e := newEnv(t, llmtest.Script{}, llmtest.Script{}, func(c *proxy.Config) {
		c.Upstreams = append(c.Upstreams, proxy.Upstream{Name: "vertex", Kind: proxy.KindVertex, BaseURL: gemini.URL, CredentialsFile: saFile})
		c.Models = append(c.Models, proxy.Model{Name: "gemini", Routes: []proxy.Route{{Upstream: "vertex", Model: "google/gemini-2.5-flash"}}})
	})
	for _, want := range []string{"one", "two"} {
		r := e.call(t, "openai", e.key, `{"model": "gemini", "messages": [{"role": "user", "content": "hi"}]}`)
		if r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Fatalf("through vertex: %d %s", r.status, r.body)
		}
	}
	for _, req := range gemini.Requests() {
		if got := req.Header.Get("Authorization"); got != "Bearer "+vertexToken {
			t.Errorf("vertex got Authorization %q", got)
		}
		if req.Body == nil || req.Body.Model != "google/gemini-2.5-flash" {
			t.Errorf("vertex was asked for %+v", req.Body)
		}
	}
	if n := issued.Load(); n != 1 {
		t.Errorf("%d tokens fetched for two calls, want 1 (reused until it expires)", n)
	}
}

func TestVertexConfigChecked(t *testing.T) {
	sa := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(sa, []byte(`{"type": "authorized_user", "client_id": "x", "client_secret": "y", "refresh_token": "z"}`), 0o600)
	for name, up := range map[string]proxy.Upstream{
		"no project":           {Name: "v", Kind: proxy.KindVertex, Location: "us-central1", CredentialsFile: sa},
		"bad location":         {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us central", CredentialsFile: sa},
		"no credentials":       {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1"},
		"a user's credentials": {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1", CredentialsFile: sa},
		"a static key":         {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1", KeyEnv: "HOME"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := proxy.New(proxy.Options{Config: proxy.Config{Upstreams: []proxy.Upstream{up},
				Models: []proxy.Model{{Name: "g", Routes: []proxy.Route{{Upstream: "v"}}}}}})
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
