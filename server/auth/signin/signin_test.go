package signin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth/device"
	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/auth/signin"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// A link mailed through a real SMTP server signs the browser in once;
// used again, or once expired, it is refused.
func TestMagicLinkThroughMailpit(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		link := h.askLink("Ada@Example.test", "")
		if !strings.HasPrefix(link, h.URL+"/signin/magic?token=") {
			t.Fatalf("link %q is not on the public URL", link)
		}
		// Opening the link only shows a button: a mail scanner's GET uses nothing up.
		if resp, body := h.req("GET", strings.TrimPrefix(link, h.URL), nil, nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `id="continue"`) {
			t.Fatalf("GET link: %s", resp.Status)
		}
		resp := h.redeem(link, nil)
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusSeeOther || c == nil || resp.Header.Get("Location") != "/account" {
			t.Fatalf("redeeming: %s, location %q, cookie %v", resp.Status, resp.Header.Get("Location"), c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/", c)
		}
		if resp, body := h.req("GET", "/account", nil, c, nil); resp.StatusCode != 200 || !strings.Contains(body, "ada@example.test") {
			t.Fatalf("account page: %s\n%s", resp.Status, body)
		}
		if resp := h.redeem(link, nil); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("a used link: %s, want 400 and no cookie", resp.Status)
		}
		expired := h.askLink("ada@example.test", "")
		if _, err := h.DB.Exec(`UPDATE magic_links SET expires_at = $1 WHERE used_at = 0`, db.Now()-1); err != nil {
			t.Fatal(err)
		}
		if resp := h.redeem(expired, nil); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("an expired link: %s, want 400 and no cookie", resp.Status)
		}
		// An address without an account gets the same answer and no mail.
		if resp, body := h.req("POST", "/signin", url.Values{"email": {"nobody@example.test"}}, nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `id="sent"`) {
			t.Fatalf("unknown address: %s", resp.Status)
		}
		h.Svc.Links.Wait()
		if n := len(h.Mail.Messages(t, "nobody@example.test")); n != 0 {
			t.Fatalf("%d mails to an address without an account", n)
		}
	})
}

// ?next= leads only to a path on this server.
func TestOpenRedirectRefused(t *testing.T) {
	h := newHarness(t, db.SQLite, nil)
	h.user("ada@example.test")
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil.example", "javascript:alert(1)", "/ok\r\nLocation: https://evil.example"} {
		resp, _ := h.req("POST", "/signin", url.Values{"email": {"ada@example.test"}, "next": {next}}, nil, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("next %q: %s, want 400", next, resp.Status)
		}
		if _, err := h.Svc.Links.Issue(t.Context(), "ada@example.test", next, magiclink.TTL); err == nil {
			t.Errorf("Issue accepted next %q", next)
		}
		if _, body := h.req("GET", "/signin?next="+url.QueryEscape(next), nil, nil, nil); strings.Contains(body, "evil.example") {
			t.Errorf("the sign-in page carried next %q into its form", next)
		}
	}
	h.Svc.Links.Wait()
	if n := len(h.Mail.Messages(t, "ada@example.test")); n != 0 {
		t.Fatalf("%d links mailed for refused next values", n)
	}
	// A local path is kept through the mail.
	resp := h.redeem(h.askLink("ada@example.test", "/device?user_code=BCDF-GHJK"), nil)
	if got := resp.Header.Get("Location"); got != "/device?user_code=BCDF-GHJK" {
		t.Fatalf("redirect to %q, want the local next", got)
	}
}

// Asking for links is limited per address and per client address.
func TestSignInRateLimited(t *testing.T) {
	h := newHarness(t, db.SQLite, func(o *signin.Options) { o.PerIP = magiclink.Rate{Every: 1 << 40, Burst: 6} })
	h.user("ada@example.test")
	ask := func(email string) int {
		resp, _ := h.req("POST", "/signin", url.Values{"email": {email}}, nil, nil)
		return resp.StatusCode
	}
	for i := range 3 {
		if got := ask("ada@example.test"); got != 200 {
			t.Fatalf("request %d: %d", i+1, got)
		}
	}
	if got := ask("ADA@example.test"); got != http.StatusTooManyRequests {
		t.Fatalf("4th request for one address: %d, want 429", got)
	}
	h.Svc.Links.Wait()
	if n := len(h.Mail.Messages(t, "ada@example.test")); n != 3 {
		t.Fatalf("%d mails, want 3", n)
	}
	// Other addresses from the same client: the client's bucket (6, of
	// which 4 are spent) runs out.
	for _, other := range []string{"b@example.test", "c@example.test"} {
		if got := ask(other); got != 200 {
			t.Fatalf("another address: %d", got)
		}
	}
	if got := ask("d@example.test"); got != http.StatusTooManyRequests {
		t.Fatalf("the 7th request from one client: %d, want 429", got)
	}
	if resp := h.redeem(h.URL+"/signin/magic?token=guess", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("redeeming from a limited client: %s, want 429", resp.Status)
	}
	// The device flow's start is limited too.
	var last int
	for range 11 {
		resp, _ := h.req("POST", "/api/v1/device/code", url.Values{"client_id": {device.ClientID}}, nil, nil)
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("11th device code from one client: %d, want 429", last)
	}
}

// A cookie the browser brought before signing in never becomes the
// signed-in session (session fixation).
func TestSessionFixationPrevented(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		h.user("mallory@example.test")
		planted := &http.Cookie{Name: session.CookieName, Value: "planted-by-mallory"}
		resp := h.redeem(h.askLink("ada@example.test", ""), planted)
		got := sessionCookie(resp)
		if got == nil || got.Value == planted.Value {
			t.Fatalf("after sign-in the cookie is %v, want a new one", got)
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, planted, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the planted cookie: %s, want 401", resp.Status)
		}
		// Mallory's own live session, planted in Ada's browser, is ended, not reused.
		mal, _ := h.signIn("mallory@example.test")
		resp = h.redeem(h.askLink("ada@example.test", ""), mal)
		if c := sessionCookie(resp); c == nil || c.Value == mal.Value {
			t.Fatalf("signing in over Mallory's cookie kept it: %v", c)
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, mal, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the replaced session still works: %s", resp.Status)
		}
	})
}

// A form post with the session cookie needs the session's CSRF token and
// must come from the server's own origin.
func TestFormWithoutCSRFRefused(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		c, token := h.signIn("ada@example.test")
		other, _ := h.signIn("ada@example.test")
		var me struct {
			SessionID string `json:"session_id"`
		}
		_, body := h.req("GET", "/api/v1/me", nil, other, nil)
		json.Unmarshal([]byte(body), &me)
		path := "/account/sessions/" + me.SessionID + "/revoke"
		for _, tc := range []struct {
			name   string
			form   url.Values
			header map[string]string
		}{
			{"no token", url.Values{}, nil},
			{"wrong token", url.Values{"csrf_token": {"x" + token}}, nil},
			{"another session's token", url.Values{"csrf_token": {h.csrf(other)}}, nil},
			{"cross-site", url.Values{"csrf_token": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"foreign origin", url.Values{"csrf_token": {token}}, map[string]string{"Origin": "https://evil.example"}},
		} {
			if resp, _ := h.req("POST", path, tc.form, c, tc.header); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s, want 403", tc.name, resp.Status)
			}
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, other, nil); resp.StatusCode != 200 {
			t.Fatalf("a refused post revoked the session: %s", resp.Status)
		}
		// The JSON API takes the token in a header.
		if resp, _ := h.req("DELETE", "/api/v1/sessions/"+me.SessionID, nil, c, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("DELETE without the header: %s, want 403", resp.Status)
		}
		if resp, _ := h.req("POST", path, url.Values{"csrf_token": {token}}, c, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.URL}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("with its token: %s, want 303", resp.Status)
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, other, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoked from the account page, the session still works: %s", resp.Status)
		}
	})
}

// Nothing the server hands out is stored as it was handed out.
func TestTokensStoredOnlyHashed(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		link := h.askLink("ada@example.test", "")
		lu, _ := url.Parse(link)
		resp := h.redeem(link, nil)
		c := sessionCookie(resp)
		csrf := h.csrf(c)
		deviceCode, userCode := startCode(t, h)
		if r, _ := h.req("POST", "/device", url.Values{"csrf_token": {csrf}, "user_code": {userCode}, "action": {"approve"}}, c, nil); r.StatusCode != 200 {
			t.Fatalf("approving: %s", r.Status)
		}
		cli := pollToken(t, h, deviceCode)
		secrets := map[string]string{"link token": lu.Query().Get("token"), "cookie": c.Value, "csrf": csrf, "device code": deviceCode, "cli token": cli}
		for _, table := range []string{"sessions", "magic_links", "device_codes"} {
			dump := dumpTable(t, h.DB, table)
			if dump == "" {
				t.Fatalf("table %s is empty", table)
			}
			for name, s := range secrets {
				if s == "" {
					t.Fatalf("no %s", name)
				}
				if strings.Contains(dump, s) {
					t.Errorf("the %s is stored in clear in %s", name, table)
				}
			}
		}
	})
}

func pollToken(t *testing.T, h *harness, deviceCode string) string {
	t.Helper()
	resp, body := h.req("POST", "/api/v1/device/token", url.Values{"client_id": {device.ClientID}, "grant_type": {device.GrantType}, "device_code": {deviceCode}}, nil, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &tok)
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %s %s", resp.Status, body)
	}
	return tok.AccessToken
}

// dumpTable returns every value of every row of table as text.
func dumpTable(t *testing.T, d *db.DB, table string) string {
	t.Helper()
	rows, err := d.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				b.Write(v)
			default:
				b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(jsonText(v), "\"", ""), "\\", "")))
			}
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Someone invited who has no account yet gets a link like anyone else, and
// redeeming it makes their account (audited), so that they can accept; a
// revoked invitation makes none.
func TestInvitedAddressGetsAnAccount(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		owner := h.user("owner@example.test")
		acc := accounts.New(h.DB)
		org, err := acc.CreateOrg(context.Background(), audit.Actor{ID: owner}, "acme", "Acme", owner)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = acc.Invite(context.Background(), audit.Actor{ID: owner}, org.ID, "New@Example.test", policy.Member, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		link := h.askLink("new@example.test", "")
		resp := h.redeem(link, nil)
		if resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
			t.Fatalf("redeeming an invited address's link: %s", resp.Status)
		}
		if id, _ := magiclink.UserByEmail(context.Background(), h.DB, "new@example.test"); id == "" {
			t.Fatal("no account was made")
		}
		if !strings.Contains(dumpTable(t, h.DB, "audit_log"), "via=magic_link because=invitation") {
			t.Error("the new account is not in the audit log")
		}
		// Revoked between the mail and the click: no account.
		inv2, _, err := acc.Invite(context.Background(), audit.Actor{ID: owner}, org.ID, "late@example.test", policy.Member, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		late := h.askLink("late@example.test", "")
		if err := acc.RevokeInvitation(context.Background(), audit.Actor{ID: owner}, org.ID, inv2.ID); err != nil {
			t.Fatal(err)
		}
		if resp := h.redeem(late, nil); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("a revoked invitation's link: %s, want 400", resp.Status)
		}
	})
}
