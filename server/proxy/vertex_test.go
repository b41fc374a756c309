package proxy_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// vertexFront plays Vertex AI's API on loopback in front of the scripted
// servers: the OpenAI-compatible endpoint of project loom-test in
// us-central1 goes to gemini; Anthropic's models there, by rawPredict and
// streamRawPredict, go to claude, after checking what Vertex checks (the
// model in the URL and not the body, anthropic_version vertex-2023-10-16
// in the body, the specifier matching "stream"). Every request must carry
// the service account's access token. It returns the paths it was asked.
func vertexFront(t *testing.T, gemini, claude *llmtest.Server) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var paths []string
	const at = "/v1/projects/loom-test/locations/us-central1"
	forward := func(w http.ResponseWriter, r *http.Request, to string, body []byte, h http.Header) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, to, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		rc := http.NewResponseController(w)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			rc.Flush()
			if err != nil {
				return
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+at+"/endpoints/openapi/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		forward(w, r, gemini.URL+"/chat/completions", body, r.Header.Clone())
	})
	mux.HandleFunc("POST "+at+"/publishers/anthropic/models/{call}", func(w http.ResponseWriter, r *http.Request) {
		model, specifier, _ := strings.Cut(r.PathValue("call"), ":")
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, `{"error":{"message":"not JSON"}}`, http.StatusBadRequest)
			return
		}
		stream, _ := body["stream"].(bool)
		switch {
		case body["anthropic_version"] != "vertex-2023-10-16":
			t.Errorf("Claude on Vertex got anthropic_version %v", body["anthropic_version"])
		case body["model"] != nil:
			t.Errorf("Claude on Vertex got a model in the body: %v", body["model"])
		case specifier != map[bool]string{false: "rawPredict", true: "streamRawPredict"}[stream]:
			t.Errorf("%s for a request with stream %v", specifier, stream)
		}
		delete(body, "anthropic_version")
		body["model"] = model
		h := r.Header.Clone()
		h.Set("Anthropic-Version", "2023-06-01")
		forward(w, r, claude.URL+"/messages", mustMarshal(t, body), h)
	})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer "+vertexToken {
			t.Errorf("Vertex got Authorization %q", got)
			http.Error(w, `{"error":{"message":"no token"}}`, http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-Api-Key") != "" {
			t.Errorf("Vertex got an x-api-key")
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(paths)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A vertex upstream signs in with its service account (a JWT signed with
// its key, exchanged at the token endpoint) and sends the access token,
// reused across calls; the token never reaches the client. Gemini goes to
// Vertex's OpenAI-compatible endpoint; Claude through rawPredict and
// streamRawPredict, from clients of either format, streamed or not.
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
	usage := &llmtest.Usage{PromptTokens: 30, CompletionTokens: 7}
	claude := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{
		{Text: "three", Usage: usage}, {Text: "four", Usage: usage}, {Text: "five", Usage: usage}, {Text: "six", Usage: usage}}})
	front, paths := vertexFront(t, gemini, claude)
	e := newEnv(t, llmtest.Script{}, llmtest.Script{}, func(c *proxy.Config) {
		c.Upstreams = append(c.Upstreams, proxy.Upstream{Name: "vertex", Kind: proxy.KindVertex, BaseURL: front.URL + "/v1",
			Project: "loom-test", Location: "us-central1", CredentialsFile: saFile})
		c.Models = append(c.Models,
			proxy.Model{Name: "gemini", Routes: []proxy.Route{{Upstream: "vertex", Model: "google/gemini-2.5-flash"}}},
			proxy.Model{Name: "claude-vertex", Aliases: []string{"sonnet"}, Routes: []proxy.Route{{Upstream: "vertex", Model: "claude-sonnet-4@20250514"}}})
	})
	for _, want := range []string{"one", "two"} {
		r := e.call(t, "openai", e.key, `{"model": "gemini", "messages": [{"role": "user", "content": "hi"}]}`)
		if r.status != 200 || !strings.Contains(string(r.body), want) {
			t.Fatalf("through vertex: %d %s", r.status, r.body)
		}
	}
	for _, req := range gemini.Requests() {
		if req.Body == nil || req.Body.Model != "google/gemini-2.5-flash" {
			t.Errorf("vertex was asked for %+v", req.Body)
		}
	}
	for i, tc := range []struct {
		client string
		stream bool
	}{{"anthropic", false}, {"anthropic", true}, {"openai", false}, {"openai", true}} {
		body := fmt.Sprintf(`{"model": "sonnet", "max_tokens": 100, "stream": %t, "messages": [{"role": "user", "content": "hi"}]}`, tc.stream)
		r := e.call(t, tc.client, e.key, body)
		if r.status != 200 {
			t.Fatalf("Claude on Vertex, %s client, stream %v: %d %s", tc.client, tc.stream, r.status, r.body)
		}
		a := parse(t, tc.client, tc.stream, r.body)
		if want := []string{"three", "four", "five", "six"}[i]; a.text != want || a.model != "sonnet" {
			t.Errorf("Claude on Vertex, %s client, stream %v: %+v", tc.client, tc.stream, a)
		}
		if _, u, _ := e.meter.last(); u.InputTokens+u.CachedTokens != 30 || u.OutputTokens != 7 {
			t.Errorf("metered %+v", u)
		}
	}
	const claudeAt = "/v1/projects/loom-test/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514"
	want := []string{"/v1/projects/loom-test/locations/us-central1/endpoints/openapi/chat/completions",
		"/v1/projects/loom-test/locations/us-central1/endpoints/openapi/chat/completions",
		claudeAt + ":rawPredict", claudeAt + ":streamRawPredict", claudeAt + ":rawPredict", claudeAt + ":streamRawPredict"}
	if got := paths(); !slices.Equal(got, want) {
		t.Errorf("Vertex was asked\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := issued.Load(); n != 1 {
		t.Errorf("%d tokens fetched for six calls, want 1 (reused until it expires)", n)
	}
}

func TestVertexConfigChecked(t *testing.T) {
	sa := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(sa, []byte(`{"type": "authorized_user", "client_id": "x", "client_secret": "y", "refresh_token": "z"}`), 0o600)
	for name, up := range map[string]proxy.Upstream{
		"no project":            {Name: "v", Kind: proxy.KindVertex, Location: "us-central1", CredentialsFile: sa},
		"a root but no project": {Name: "v", Kind: proxy.KindVertex, BaseURL: "http://127.0.0.1:9/v1", Location: "us-central1", CredentialsFile: sa},
		"bad location":          {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us central", CredentialsFile: sa},
		"no credentials":        {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1"},
		"a user's credentials":  {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1", CredentialsFile: sa},
		"a static key":          {Name: "v", Kind: proxy.KindVertex, Project: "loom-test", Location: "us-central1", KeyEnv: "HOME"},
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
