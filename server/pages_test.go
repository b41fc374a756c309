package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

// site is the whole team server (Open) serving on a loopback listener,
// bootstrapped with organisation acme and its owner.
type site struct {
	t    testing.TB
	URL  string
	Team *Team
	// OrgID is acme's; OwnerID its owner's; OwnerLink signs them in once.
	OrgID, OwnerID, OwnerLink string
	// http follows no redirects, so tests see each answer.
	http *http.Client
}

const ownerEmail = "owner@example.test"

func openSite(t testing.TB, e db.Engine) *site {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ctx := context.Background()
	team, err := Open(ctx, Config{Database: dbtest.URL(t, e), Listen: ln.Addr().String(), PublicURL: u}, slog.New(slog.DiscardHandler))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: team.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		team.Close()
	})
	res, err := bootstrap.Run(ctx, team.DB, team.SignIn.Links, "acme", "Acme", ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, URL: u, Team: team, OrgID: res.OrgID, OwnerID: res.UserID, OwnerLink: res.Link,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// person adds a user, a member of acme with role unless role is "", and
// signs them in: a web session's cookie.
func (s *site) person(email string, role policy.Role) (string, *http.Cookie) {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.Team.Accounts.CreateUser(ctx, email, "")
	if err != nil {
		s.t.Fatal(err)
	}
	if role != "" {
		if err := s.Team.Accounts.AddMember(ctx, audit.System, s.OrgID, u.ID, role); err != nil {
			s.t.Fatal(err)
		}
	}
	token, _, err := s.Team.SignIn.Sessions.Create(ctx, u.ID, auth.KindWeb, "test", "127.0.0.1")
	if err != nil {
		s.t.Fatal(err)
	}
	return u.ID, &http.Cookie{Name: session.CookieName, Value: token}
}

// req sends a request, a form when form is not nil, with cookie when not
// nil, as a browser on this site would (its Origin on posts).
func (s *site) req(method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", s.URL)
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	resp, err := s.http.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the CSRF token of cookie's session, from the account page.
func (s *site) csrf(cookie *http.Cookie) string {
	s.t.Helper()
	resp, body := s.req("GET", "/account", nil, cookie)
	m := csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		s.t.Fatalf("GET /account: %s, no CSRF token\n%s", resp.Status, body)
	}
	return m[1]
}

func (s *site) auditCount() int {
	s.t.Helper()
	var n int
	if err := s.Team.DB.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// Every form of the organisation and key pages is refused without the
// session's CSRF token, and changes nothing (no audit entry appears);
// with the token the same post goes through, so the refusal is the
// token's doing.
func TestPagePostsNeedTheirCSRFToken(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			s := openSite(t, e)
			ctx := context.Background()
			_, owner := s.person("boss@example.test", policy.Owner)
			bob, _ := s.person("bob@example.test", policy.Member)
			token := s.csrf(owner)
			team, err := s.Team.Accounts.CreateTeam(ctx, audit.System, s.OrgID, "core", "Core")
			if err != nil {
				t.Fatal(err)
			}
			inv, _, err := s.Team.Accounts.Invite(ctx, audit.System, s.OrgID, "carol@example.test", policy.Member, 0)
			if err != nil {
				t.Fatal(err)
			}
			key, _, err := s.Team.Keys.Create(ctx, audit.System, s.OrgID, s.OwnerID, "ci", []string{"read"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			// In an order in which each post, with its token, succeeds.
			for _, c := range []struct {
				path string
				form url.Values
				want int
			}{
				{"/orgs/acme/members/" + bob + "/role", url.Values{"role": {"admin"}}, 303},
				{"/orgs/acme/teams", url.Values{"slug": {"web"}, "name": {"Web"}}, 303},
				{"/orgs/acme/teams/core/members", url.Values{"user": {bob}}, 303},
				{"/orgs/acme/teams/core/members/" + bob + "/remove", url.Values{}, 303},
				{"/orgs/" + s.OrgID + "/teams/" + team.ID + "/delete", url.Values{}, 303},
				{"/orgs/acme/invitations", url.Values{"email": {"dan@example.test"}, "role": {"member"}}, 201},
				{"/orgs/acme/invitations/" + inv.ID + "/revoke", url.Values{}, 303},
				{"/account/orgs/acme/keys", url.Values{"name": {"deploy"}, "scope": {"read", "write"}}, 201},
				{"/account/orgs/acme/keys/" + key.ID + "/revoke", url.Values{}, 303},
				{"/orgs/acme/members/" + bob + "/remove", url.Values{}, 303},
				{"/invitations/accept", url.Values{"token": {"loominv_unknown"}}, 410},
			} {
				before := s.auditCount()
				if resp, body := s.req("POST", c.path, c.form, owner); resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s without a CSRF token: %s, want 403\n%s", c.path, resp.Status, body)
				}
				if n := s.auditCount(); n != before {
					t.Errorf("POST %s without a CSRF token changed something: %d audit entries, were %d", c.path, n, before)
				}
				c.form.Set(session.CSRFField, token)
				if resp, body := s.req("POST", c.path, c.form, owner); resp.StatusCode != c.want {
					t.Errorf("POST %s with its CSRF token: %s, want %d\n%s", c.path, resp.Status, c.want, body)
				}
			}
		})
	}
}

// The admin pages are their organisation's admins': a member is refused
// (403) every page and every form, an outsider cannot tell the
// organisation exists (404), and nothing they post changes anything.
func TestAdminPagesAreForAdmins(t *testing.T) {
	s := openSite(t, db.SQLite)
	ctx := context.Background()
	_, owner := s.person("boss@example.test", policy.Owner)
	bob, member := s.person("bob@example.test", policy.Member)
	_, outsider := s.person("eve@example.test", "")
	if _, err := s.Team.Accounts.CreateTeam(ctx, audit.System, s.OrgID, "core", "Core"); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/orgs/acme/members", "/orgs/acme/teams", "/orgs/acme/teams/core", "/orgs/acme/invitations", "/orgs/acme/audit"}
	for _, p := range pages {
		for _, c := range []struct {
			who    string
			cookie *http.Cookie
			want   int
		}{{"the owner", owner, 200}, {"a member", member, 403}, {"an outsider", outsider, 404}} {
			if resp, body := s.req("GET", p, nil, c.cookie); resp.StatusCode != c.want {
				t.Errorf("GET %s as %s: %s, want %d\n%s", p, c.who, resp.Status, c.want, body)
			}
		}
	}
	if resp, _ := s.req("GET", "/orgs/acme/members", nil, nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Errorf("signed out: %s to %q, want 303 to sign in", resp.Status, resp.Header.Get("Location"))
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/orgs/acme/members/" + bob + "/role", url.Values{"role": {"owner"}}},
		{"/orgs/acme/members/" + s.OwnerID + "/remove", url.Values{}},
		{"/orgs/acme/teams", url.Values{"slug": {"mine"}, "name": {"Mine"}}},
		{"/orgs/acme/teams/core/delete", url.Values{}},
		{"/orgs/acme/teams/core/members", url.Values{"user": {bob}}},
		{"/orgs/acme/invitations", url.Values{"email": {"friend@example.test"}, "role": {"owner"}}},
		{"/account/orgs/acme/keys", url.Values{"name": {"mine"}, "scope": {"read"}}},
	}
	before := s.auditCount()
	for _, p := range posts {
		for _, c := range []struct {
			who    string
			cookie *http.Cookie
			want   int
		}{{"a member", member, 403}, {"an outsider", outsider, 404}} {
			form := url.Values{session.CSRFField: {s.csrf(c.cookie)}}
			for k, v := range p.form {
				form[k] = v
			}
			if resp, body := s.req("POST", p.path, form, c.cookie); resp.StatusCode != c.want {
				t.Errorf("POST %s as %s: %s, want %d\n%s", p.path, c.who, resp.Status, c.want, body)
			}
		}
	}
	if n := s.auditCount(); n != before {
		t.Errorf("refused posts changed something: %d audit entries, were %d", n, before)
	}
	// The account page links the admin pages and shows keys only to those
	// who may manage the organisation.
	_, body := s.req("GET", "/account", nil, member)
	if !strings.Contains(body, `data-slug="acme"`) || strings.Contains(body, "/orgs/acme/members") || strings.Contains(body, "API keys of") {
		t.Errorf("a member's account page:\n%s", body)
	}
	_, body = s.req("GET", "/account", nil, owner)
	if !strings.Contains(body, "/orgs/acme/members") || !strings.Contains(body, "API keys of Acme") {
		t.Errorf("the owner's account page:\n%s", body)
	}
}

// An admin may not make or unmake owners on the pages either: the
// owners-only rule of the API holds, answered on the members page.
func TestAdminCannotTouchOwnersOnPages(t *testing.T) {
	s := openSite(t, db.SQLite)
	alice, admin := s.person("alice@example.test", policy.Admin)
	bob, _ := s.person("bob@example.test", policy.Member)
	token := s.csrf(admin)
	_, body := s.req("GET", "/orgs/acme/members", nil, admin)
	if strings.Contains(body, `<option value="owner"`) || strings.Contains(body, "/members/"+s.OwnerID+"/") {
		t.Errorf("an admin is offered owner changes:\n%s", body)
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/orgs/acme/members/" + bob + "/role", url.Values{"role": {"owner"}}},
		{"/orgs/acme/members/" + s.OwnerID + "/role", url.Values{"role": {"member"}}},
		{"/orgs/acme/members/" + s.OwnerID + "/remove", url.Values{}},
		{"/orgs/acme/invitations", url.Values{"email": {"friend@example.test"}, "role": {"owner"}}},
	} {
		p.form.Set(session.CSRFField, token)
		resp, body := s.req("POST", p.path, p.form, admin)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="error"`) {
			t.Errorf("POST %s as an admin: %s, want 403 with the reason\n%s", p.path, resp.Status, body)
		}
	}
	if r, err := s.Team.Accounts.Role(context.Background(), s.OrgID, s.OwnerID); err != nil || r != policy.Owner {
		t.Errorf("the owner is now %q (%v)", r, err)
	}
	// What admins may do, they do: bob becomes an admin, and alice leaves.
	if resp, body := s.req("POST", "/orgs/acme/members/"+bob+"/role", url.Values{"role": {"admin"}, session.CSRFField: {token}}, admin); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an admin making an admin: %s\n%s", resp.Status, body)
	}
	if resp, _ := s.req("POST", "/orgs/acme/members/"+alice+"/remove", url.Values{session.CSRFField: {token}}, admin); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Errorf("leaving: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
}
