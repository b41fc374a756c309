package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
)

// TestTeamServerWired: the assembled server authenticates each kind of
// credential in front of every component: the `loom login` token reaches
// the sign-in API and the accounts API, a key made through the API works,
// and once revoked is refused on the next request; a wrong token is a 401,
// not an anonymous request.
func TestTeamServerWired(t *testing.T) {
	ctx := context.Background()
	team, err := Open(ctx, Config{Database: filepath.Join(t.TempDir(), "server.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer team.Close()
	res, err := bootstrap.Run(ctx, team.DB, team.SignIn.Links, "acme", "Acme", "owner@example.test")
	if err != nil {
		t.Fatal(err)
	}
	cli, _, err := team.SignIn.Sessions.Create(ctx, res.UserID, auth.KindCLI, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
		r.RemoteAddr = "127.0.0.1:4000"
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		team.Handler().ServeHTTP(w, r)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, me := call("GET", "/api/v1/me", cli, ""); code != 200 || me["email"] != "owner@example.test" {
		t.Fatalf("me: %d %v", code, me)
	}
	if code, _ := call("GET", "/api/v1/orgs/acme", "", ""); code != http.StatusUnauthorized && code != http.StatusNotFound && code != http.StatusForbidden {
		t.Errorf("anonymous org read: %d", code)
	}
	if code, _ := call("GET", "/api/v1/orgs/acme", "loomcli_not-a-token", ""); code != http.StatusUnauthorized {
		t.Errorf("a wrong CLI token: %d, want 401", code)
	}
	code, made := call("POST", "/api/v1/orgs/acme/keys", cli, `{"name": "ci", "scopes": ["read"]}`)
	if code != http.StatusCreated {
		t.Fatalf("creating a key: %d %v", code, made)
	}
	secret, _ := made["secret"].(string)
	id, _ := made["key"].(map[string]any)["id"].(string)
	if code, org := call("GET", "/api/v1/orgs/acme", secret, ""); code != 200 {
		t.Fatalf("the key reads its organisation: %d %v", code, org)
	}
	if code, _ := call("POST", "/api/v1/orgs/acme/keys", secret, `{"name": "more", "scopes": ["read"]}`); code != http.StatusForbidden {
		t.Errorf("a key made a key: %d, want 403", code)
	}
	if code, out := call("DELETE", "/api/v1/orgs/acme/keys/"+id, cli, ""); code >= 300 {
		t.Fatalf("revoking: %d %v", code, out)
	}
	if code, _ := call("GET", "/api/v1/orgs/acme", secret, ""); code != http.StatusUnauthorized {
		t.Errorf("the revoked key: %d, want 401", code)
	}
	// Requests are counted by route even behind the authentication
	// middleware, which passes the mux a copy of the request.
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	team.Handler().ServeHTTP(w, r)
	if !bytes.Contains(w.Body.Bytes(), []byte(`route="GET /api/v1/orgs/{org}"`)) {
		t.Error("metrics lack the route of the org requests")
	}
}
