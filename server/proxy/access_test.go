package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/policy"
)

// TestAccess: who may call which model, as which organisation. Tokens and
// API keys (as a bearer token or x-api-key) are let through to the models
// of their organisation; a key without use_model, a user naming an
// organisation they are not in, a key naming another, a user of several
// naming none and a policy forbidding a model are refused, each with an
// error in the client's format, and none reaches an upstream.
func TestAccess(t *testing.T) {
	turns := make([]llmtest.Turn, 20)
	for i := range turns {
		turns[i] = llmtest.Turn{Text: "ok"}
	}
	e := newEnv(t, llmtest.Script{Turns: turns}, llmtest.Script{Turns: turns}, nil)
	simple := map[string]string{
		"openai":    `{"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}`,
		"anthropic": `{"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}`,
	}
	for _, tc := range []struct {
		name, format, token string
		headers             []string
		status              int
		says                string
	}{
		{"no credential", "openai", "", nil, 401, "sign in first"},
		{"no credential (anthropic)", "anthropic", "", nil, 401, "sign in first"},
		// Refused by the server's authentication before the proxy runs,
		// yet answered in the endpoint's format.
		{"a wrong API key", "anthropic", "loom_AAAAAAAAAAAA_wrong", nil, 401, "invalid API key"},
		{"a wrong API key (openai)", "openai", "loom_AAAAAAAAAAAA_wrong", nil, 401, "invalid API key"},
		{"a wrong token", "openai", "loomcli_wrong", nil, 401, ""},
		{"a wrong token (anthropic)", "anthropic", "loomcli_wrong", nil, 401, ""},
		{"the owner's token", "openai", "owner", nil, 200, ""},
		{"the owner's token (anthropic)", "anthropic", "owner", nil, 200, ""},
		{"an API key as x-api-key", "anthropic", "key", nil, 200, ""},
		{"an API key as a bearer token", "openai", "key", nil, 200, ""},
		{"a key without use_model", "openai", "readKey", nil, 403, `may not use model "gpt-test"`},
		{"a key without use_model (anthropic)", "anthropic", "readKey", nil, 403, `may not use model "claude-test"`},
		{"a key naming another organisation", "openai", "key", []string{"Loom-Org", "other"}, 403, "its own organisation only"},
		{"a key naming its own", "openai", "key", []string{"Loom-Org", "acme"}, 200, ""},
		{"an outsider naming acme", "openai", "outsider", []string{"Loom-Org", "acme"}, 403, `not a member of organisation "acme"`},
		{"an outsider naming a free slug", "anthropic", "outsider", []string{"Loom-Org", "nobody"}, 403, `not a member of organisation "nobody"`},
		{"an outsider in their own organisation", "openai", "outsider", nil, 200, ""},
		{"a member of two naming none", "openai", "both", nil, 400, "Loom-Org"},
		{"a member of two naming one", "anthropic", "both", []string{"Loom-Org", "acme"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := map[string]string{"owner": e.owner, "key": e.key, "readKey": e.readKey, "outsider": e.outsider, "both": e.both}[tc.token]
			if token == "" {
				token = tc.token
			}
			before := len(e.oa.Requests()) + len(e.an.Requests())
			r := e.call(t, tc.format, token, simple[tc.format], tc.headers...)
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			reached := len(e.oa.Requests()) + len(e.an.Requests()) - before
			if tc.status != 200 {
				checkErrorBody(t, tc.format, r.body, tc.says)
			}
			if tc.status == 401 && !strings.Contains(string(r.body), `"type":"authentication_error"`) {
				t.Errorf("a refused credential is not an authentication_error: %s", r.body)
			}
			if tc.status != 200 {
				if reached != 0 {
					t.Errorf("a refused call reached an upstream")
				}
			} else if reached != 1 {
				t.Errorf("%d upstream requests", reached)
			}
		})
	}

	// A policy forbidding one model: it is refused and not listed.
	pols, err := policy.Parse("test.cedar", []byte(policy.DefaultText()+`
@id("no-claude")
forbid (principal, action == Loom::Action::"use_model", resource == Loom::Model::"claude-test");`))
	if err != nil {
		t.Fatal(err)
	}
	e.team.Authz.SetPolicies(pols)
	if r := e.call(t, "anthropic", e.owner, simple["anthropic"]); r.status != http.StatusForbidden {
		t.Errorf("a forbidden model: %d %s", r.status, r.body)
	}
	// The key was allowed claude before; its remembered decision goes
	// with the old policies.
	if r := e.call(t, "anthropic", e.key, simple["anthropic"]); r.status != http.StatusForbidden {
		t.Errorf("a forbidden model, for a key allowed it before: %d %s", r.status, r.body)
	}
	if r := e.call(t, "openai", e.owner, simple["openai"]); r.status != http.StatusOK {
		t.Errorf("an allowed model: %d %s", r.status, r.body)
	}
	for _, f := range []string{"openai", "anthropic"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		if f == "anthropic" {
			req.Header.Set("Anthropic-Version", "2023-06-01")
		}
		r := do(t, req)
		var list struct {
			Object string `json:"object"`
			Data   []struct{ ID, Object, Type, DisplayName string }
		}
		if r.status != 200 || json.Unmarshal(r.body, &list) != nil || list.Object != "list" {
			t.Fatalf("models: %d %s", r.status, r.body)
		}
		var ids []string
		for _, m := range list.Data {
			ids = append(ids, m.ID)
			if m.Object != "model" || m.Type != "model" {
				t.Errorf("a model entry: %+v", m)
			}
		}
		if strings.Join(ids, ",") != "gpt-test,gpt" {
			t.Errorf("models listed: %v", ids)
		}
	}
	for _, f := range []string{"openai", "anthropic"} {
		for _, token := range []string{"", "loom_AAAAAAAAAAAA_wrong", "loomcli_wrong"} {
			req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/models", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if f == "anthropic" {
				req.Header.Set("Anthropic-Version", "2023-06-01")
			}
			r := do(t, req)
			if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"type":"authentication_error"`) {
				t.Errorf("models with credential %q: %d %s", token, r.status, r.body)
			}
			checkErrorBody(t, f, r.body, "")
		}
	}
}

// checkErrorBody checks an error body is in format f and says says.
func checkErrorBody(t *testing.T, f string, body []byte, says string) {
	t.Helper()
	var b struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Error.Message == "" || b.Error.Type == "" || (f == "anthropic") != (b.Type == "error") {
		t.Errorf("not a %s error body: %s", f, body)
	}
	if !strings.Contains(b.Error.Message, says) {
		t.Errorf("the error says %q, want it to say %q", b.Error.Message, says)
	}
}
