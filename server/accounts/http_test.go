package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/apikeys"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

// testUser stands for the session checker another package provides: the
// X-Test-User header names the signed-in user.
type testUser struct{}

func (testUser) Check(r *http.Request) (*auth.Principal, error) {
	if id := r.Header.Get("X-Test-User"); id != "" {
		return &auth.Principal{Kind: auth.KindWeb, UserID: id}, nil
	}
	return nil, nil
}

type client struct {
	t      *testing.T
	url    string
	user   string // X-Test-User
	bearer string
}

func (c client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, bytes.NewBufferString(body))
	if c.user != "" {
		req.Header.Set("X-Test-User", c.user)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// want checks a call's status.
func (c client) want(status int, method, path, body string) map[string]any {
	c.t.Helper()
	code, m := c.do(method, path, body)
	if code != status {
		c.t.Errorf("%s %s %s as %s: %d %v, want %d", method, path, body, c.user+c.bearer, code, m, status)
	}
	return m
}

// An organisation's life through the API: each step by who may and who may not.
func TestAccountsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		keys := apikeys.New(d)
		authz := policy.NewAuthorizer(s, nil)
		mux := http.NewServeMux()
		(&accounts.Handler{Store: s, Authz: authz}).Routes(mux)
		(&audit.Handler{DB: d, Authz: authz, OrgID: s.OrgID}).Routes(mux)
		srv := httptest.NewServer(auth.Authenticate(keys, testUser{})(mux))
		defer srv.Close()
		users := map[string]accounts.User{}
		for _, n := range []string{"ada", "bob", "carol", "eve"} {
			users[n] = mustUser(t, s, n+"@example.com")
		}
		as := func(n string) client { return client{t: t, url: srv.URL, user: users[n].ID} }
		ada, bob, carol, eve := as("ada"), as("bob"), as("carol"), as("eve")
		nobody := client{t: t, url: srv.URL}

		nobody.want(401, "POST", "/api/v1/orgs", `{"slug": "acme", "name": "Acme"}`)
		ada.want(400, "POST", "/api/v1/orgs", `{"slug": "Acme!", "name": "Acme"}`)
		ada.want(400, "POST", "/api/v1/orgs", `{"slug": "acme", "name": "Acme", "extra": 1}`)
		org := ada.want(201, "POST", "/api/v1/orgs", `{"slug": "acme", "name": "Acme"}`)
		orgID := org["id"].(string)
		bob.want(409, "POST", "/api/v1/orgs", `{"slug": "acme", "name": "Other"}`)
		// Outsiders cannot tell an organisation from a missing one.
		bob.want(404, "GET", "/api/v1/orgs/acme", "")
		bob.want(404, "GET", "/api/v1/orgs/nothere", "")
		if m := ada.want(200, "GET", "/api/v1/me/orgs", ""); fmt.Sprint(m["orgs"]) == "[]" {
			t.Errorf("me: %v", m)
		}

		// Invitations: by admins, accepted by the invitee alone, once.
		bob.want(404, "POST", "/api/v1/orgs/acme/invitations", `{"email": "bob@example.com", "role": "member"}`)
		inv := ada.want(201, "POST", "/api/v1/orgs/acme/invitations", `{"email": "Bob@Example.com", "role": "member"}`)
		token := inv["token"].(string)
		eve.want(403, "POST", "/api/v1/invitations/accept", `{"token": "`+token+`"}`)
		bob.want(200, "POST", "/api/v1/invitations/accept", `{"token": "`+token+`"}`)
		bob.want(410, "POST", "/api/v1/invitations/accept", `{"token": "`+token+`"}`)
		bob.want(200, "GET", "/api/v1/orgs/acme", "")
		bob.want(200, "GET", "/api/v1/orgs/acme/members", "")

		// Members do not manage; admins do, but only owners make owners.
		bob.want(403, "PATCH", "/api/v1/orgs/acme", `{"name": "Bob's"}`)
		bob.want(403, "PUT", "/api/v1/orgs/acme/members/"+users["bob"].ID, `{"role": "admin"}`)
		bob.want(403, "POST", "/api/v1/orgs/acme/invitations", `{"email": "carol@example.com", "role": "member"}`)
		ada.want(200, "PUT", "/api/v1/orgs/acme/members/"+users["bob"].ID, `{"role": "admin"}`)
		bob.want(200, "PATCH", "/api/v1/orgs/acme", `{"name": "Acme Inc"}`)
		bob.want(403, "PUT", "/api/v1/orgs/acme/members/"+users["bob"].ID, `{"role": "owner"}`)
		bob.want(403, "PUT", "/api/v1/orgs/acme/members/"+users["ada"].ID, `{"role": "member"}`)
		bob.want(403, "DELETE", "/api/v1/orgs/acme/members/"+users["ada"].ID, "")
		bob.want(403, "POST", "/api/v1/orgs/acme/invitations", `{"email": "carol@example.com", "role": "owner"}`)
		inv = bob.want(201, "POST", "/api/v1/orgs/acme/invitations", `{"email": "carol@example.com", "role": "member"}`)
		invID := inv["invitation"].(map[string]any)["id"].(string)
		if m := bob.want(200, "GET", "/api/v1/orgs/acme/invitations", ""); len(m["invitations"].([]any)) != 1 {
			t.Errorf("waiting invitations: %v", m)
		}
		bob.want(204, "DELETE", "/api/v1/orgs/acme/invitations/"+invID, "")
		carol.want(410, "POST", "/api/v1/invitations/accept", `{"token": "`+inv["token"].(string)+`"}`)

		// The last owner stays.
		ada.want(409, "PUT", "/api/v1/orgs/acme/members/"+users["ada"].ID, `{"role": "admin"}`)
		ada.want(409, "DELETE", "/api/v1/orgs/acme/members/"+users["ada"].ID, "")

		// Teams.
		carol.want(404, "POST", "/api/v1/orgs/acme/teams", `{"slug": "core", "name": "Core"}`)
		bob.want(201, "POST", "/api/v1/orgs/acme/teams", `{"slug": "core", "name": "Core"}`)
		bob.want(204, "PUT", "/api/v1/orgs/acme/teams/core/members/"+users["ada"].ID, "")
		bob.want(400, "PUT", "/api/v1/orgs/acme/teams/core/members/"+users["carol"].ID, "")
		if m := ada.want(200, "GET", "/api/v1/orgs/acme/teams/core", ""); len(m["members"].([]any)) != 1 {
			t.Errorf("team: %v", m)
		}
		ada.want(200, "GET", "/api/v1/orgs/acme/teams", "")

		// An API key reads its organisation and does nothing else here.
		_, secret, err := keys.Create(ctx, by, orgID, users["ada"].ID, "ci", []string{"read", "write"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		key := client{t: t, url: srv.URL, bearer: secret}
		key.want(200, "GET", "/api/v1/orgs/acme", "")
		key.want(403, "PATCH", "/api/v1/orgs/acme", `{"name": "Key's"}`)
		key.want(403, "GET", "/api/v1/me/orgs", "")
		key.want(403, "POST", "/api/v1/orgs", `{"slug": "keyorg", "name": "K"}`)
		key.want(403, "GET", "/api/v1/orgs/acme/audit", "")

		// A member leaves; then sees nothing.
		ada.want(200, "PUT", "/api/v1/orgs/acme/members/"+users["bob"].ID, `{"role": "member"}`)
		bob.want(204, "DELETE", "/api/v1/orgs/acme/members/"+users["bob"].ID, "")
		bob.want(404, "GET", "/api/v1/orgs/acme/teams", "")

		// The audit log, for admins.
		bob.want(404, "GET", "/api/v1/orgs/acme/audit", "")
		m := ada.want(200, "GET", "/api/v1/orgs/acme/audit?limit=100", "")
		var acts []string
		for _, e := range m["events"].([]any) {
			acts = append(acts, e.(map[string]any)["action"].(string))
		}
		want := "member.removed member.role_changed apikey.created team.member_added team.created invitation.revoked invitation.created org.renamed member.role_changed invitation.accepted invitation.created org.created"
		if got := strings.Join(acts, " "); got != want {
			t.Errorf("audit log:\n%s\nwant\n%s", got, want)
		}
		ada.want(400, "GET", "/api/v1/orgs/acme/audit?limit=100000", "")
	})
}
