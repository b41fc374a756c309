package signin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/auth/device"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

func startCode(t *testing.T, h *harness) (deviceCode, userCode string) {
	t.Helper()
	resp, body := h.req("POST", "/api/v1/device/code", url.Values{"client_id": {device.ClientID}}, nil, nil)
	var c struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
	}
	json.Unmarshal([]byte(body), &c)
	if resp.StatusCode != 200 || c.DeviceCode == "" || c.URI != h.URL+"/device" {
		t.Fatalf("device code: %s %s", resp.Status, body)
	}
	return c.DeviceCode, c.UserCode
}

// poll answers the token endpoint's error code ("" for a token).
func poll(t *testing.T, h *harness, deviceCode string) string {
	t.Helper()
	resp, body := h.req("POST", "/api/v1/device/token", url.Values{"client_id": {device.ClientID}, "grant_type": {device.GrantType}, "device_code": {deviceCode}}, nil, nil)
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	if (resp.StatusCode == 200) != (e.Error == "") {
		t.Fatalf("token endpoint: %s %s", resp.Status, body)
	}
	return e.Error
}

// The token endpoint answers as RFC 8628 §3.5 says.
func TestDeviceTokenErrors(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		c, csrf := h.signIn("ada@example.test")
		decide := func(userCode, action string) int {
			resp, _ := h.req("POST", "/device", url.Values{"csrf_token": {csrf}, "user_code": {userCode}, "action": {action}}, c, nil)
			return resp.StatusCode
		}
		age := func(deviceCode string) { // as if the interval had passed
			if _, err := h.DB.Exec(`UPDATE device_codes SET last_poll_at = last_poll_at - 60000000`); err != nil {
				t.Fatal(err)
			}
		}

		dc, uc := startCode(t, h)
		if got := poll(t, h, dc); got != device.ErrPending {
			t.Fatalf("first poll: %q", got)
		}
		if got := poll(t, h, dc); got != device.ErrSlowDown {
			t.Fatalf("a poll at once: %q, want slow_down", got)
		}
		var interval int64
		h.DB.QueryRow(`SELECT interval_seconds FROM device_codes`).Scan(&interval)
		if interval != 6 {
			t.Fatalf("interval after slow_down: %d, want 1+5", interval)
		}
		// The page finds the code however it is typed; approving needs the form's CSRF token.
		if resp, body := h.req("GET", "/device?user_code="+strings.ToLower(strings.ReplaceAll(uc, "-", "")), nil, c, nil); resp.StatusCode != 200 || !strings.Contains(body, uc) {
			t.Fatalf("approval page: %s", resp.Status)
		}
		if resp, _ := h.req("POST", "/device", url.Values{"user_code": {uc}, "action": {"approve"}}, c, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("approval without CSRF token: %s", resp.Status)
		}
		age(dc)
		if got := poll(t, h, dc); got != device.ErrPending {
			t.Fatalf("after a refused approval: %q", got)
		}
		if got := decide(uc, "approve"); got != 200 {
			t.Fatalf("approve: %d", got)
		}
		age(dc)
		if got := poll(t, h, dc); got != "" {
			t.Fatalf("after approval: %q", got)
		}
		// Each sign-in is in the audit log with its method: the link that
		// signed the browser in, then the device.
		if got := signInMethods(t, h); len(got) != 2 || got[0] != "magic_link web" || got[1] != "device cli" {
			t.Fatalf("sign-ins audited: %q", got)
		}
		age(dc)
		if got := poll(t, h, dc); got != device.ErrBadGrant {
			t.Fatalf("a second exchange: %q, want invalid_grant", got)
		}
		if got := decide(uc, "approve"); got != http.StatusNotFound {
			t.Fatalf("approving a used code: %d", got)
		}

		dc, uc = startCode(t, h)
		if got := decide(uc, "deny"); got != 200 {
			t.Fatalf("deny: %d", got)
		}
		if got := poll(t, h, dc); got != device.ErrDenied {
			t.Fatalf("after denial: %q, want access_denied", got)
		}

		dc, _ = startCode(t, h)
		h.DB.Exec(`UPDATE device_codes SET expires_at = $1`, db.Now()-1)
		if got := poll(t, h, dc); got != device.ErrExpired {
			t.Fatalf("expired: %q, want expired_token", got)
		}
		if got := poll(t, h, "made-up"); got != device.ErrBadGrant {
			t.Fatalf("unknown device code: %q", got)
		}
		if resp, _ := h.req("POST", "/api/v1/device/code", url.Values{"client_id": {"other"}}, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown client: %s", resp.Status)
		}
	})
}

// A revoked command-line session is refused on its next request.
func TestRevokedSessionRefusedAtOnce(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		c, csrf := h.signIn("ada@example.test")
		dc, uc := startCode(t, h)
		h.req("POST", "/device", url.Values{"csrf_token": {csrf}, "user_code": {uc}, "action": {"approve"}}, c, nil)
		cli := pollToken(t, h, dc)
		bearer := map[string]string{"Authorization": "Bearer " + cli}
		resp, body := h.req("GET", "/api/v1/me", nil, nil, bearer)
		var me session.Me
		json.Unmarshal([]byte(body), &me)
		if resp.StatusCode != 200 || me.Email != "ada@example.test" || me.Kind != "cli" {
			t.Fatalf("me: %s %s", resp.Status, body)
		}
		// The token is a bearer token for the API, not a cookie.
		if resp, _ := h.req("GET", "/account", nil, &http.Cookie{Name: session.CookieName, Value: cli}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a CLI token as a cookie: %s, want a redirect to sign in", resp.Status)
		}
		if resp, _ := h.req("DELETE", "/api/v1/sessions/"+me.SessionID, nil, c, map[string]string{session.CSRFHeader: csrf}); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoking: %s", resp.Status)
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, nil, bearer); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a revoked token: %s, want 401", resp.Status)
		}
	})
}

// Each use slides a session's expiry, never past its absolute limit.
func TestSlidingExpiry(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		h.user("ada@example.test")
		c, _ := h.signIn("ada@example.test")
		soon := db.Now() + 1_000_000
		h.DB.Exec(`UPDATE sessions SET last_seen_at = last_seen_at - 120000000, expires_at = $1`, soon)
		if resp, _ := h.req("GET", "/api/v1/me", nil, c, nil); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		var exp int64
		h.DB.QueryRow(`SELECT expires_at FROM sessions WHERE revoked_at = 0`).Scan(&exp)
		if exp < db.Now()+session.WebLimits.Idle.Microseconds()-60_000_000 {
			t.Fatalf("expiry did not slide: %d", exp)
		}
		// Past the absolute limit, use no longer renews it.
		h.DB.Exec(`UPDATE sessions SET created_at = $1, last_seen_at = 0, expires_at = $2`, db.Now()-session.WebLimits.Max.Microseconds(), soon)
		h.req("GET", "/api/v1/me", nil, c, nil)
		h.DB.QueryRow(`SELECT expires_at FROM sessions WHERE revoked_at = 0`).Scan(&exp)
		if exp > db.Now() {
			t.Fatalf("expiry slid past the absolute limit")
		}
		if resp, _ := h.req("GET", "/api/v1/me", nil, c, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an expired session: %s", resp.Status)
		}
	})
}

// Behind a trusted proxy over HTTPS the cookie is Secure and __Host-;
// over plain HTTP from another machine no cookie is handed out.
func TestCookieSecureOffLoopback(t *testing.T) {
	h := newHarness(t, db.SQLite, nil, "127.0.0.1")
	h.user("ada@example.test")
	link := h.askLink("ada@example.test", "")
	plain := map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"}
	if resp := h.redeem(link, nil, plain); resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil {
		t.Fatalf("plain HTTP from afar: %s, cookie %v", resp.Status, sessionCookie(resp))
	}
	https := map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
	resp := h.redeem(link, nil, https)
	c := sessionCookie(resp)
	if c == nil || c.Name != session.SecureCookieName || !c.Secure || !c.HttpOnly {
		t.Fatalf("over HTTPS: %s, cookie %+v", resp.Status, c)
	}
	// Over HTTPS only the __Host- cookie counts.
	if resp, _ := h.req("GET", "/api/v1/me", nil, &http.Cookie{Name: session.CookieName, Value: c.Value}, https); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the plain cookie over HTTPS: %s", resp.Status)
	}
	if resp, _ := h.req("GET", "/api/v1/me", nil, c, https); resp.StatusCode != 200 {
		t.Fatalf("the __Host- cookie over HTTPS: %s", resp.Status)
	}
}

// Bootstrap makes the first organisation and owner, and a link that signs
// them in once; a second bootstrap is refused.
func TestBootstrap(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, nil)
		res, err := bootstrap.Run(t.Context(), h.DB, h.Svc.Links, "acme", "Acme", "Owner@Example.test")
		if err != nil {
			t.Fatal(err)
		}
		var role string
		h.DB.QueryRow(`SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2`, res.OrgID, res.UserID).Scan(&role)
		if role != "owner" {
			t.Fatalf("role %q", role)
		}
		c := sessionCookie(h.redeem(res.Link, nil))
		_, body := h.req("GET", "/api/v1/me", nil, c, nil)
		if !strings.Contains(body, "owner@example.test") {
			t.Fatalf("the link signs in as %s", body)
		}
		if resp := h.redeem(res.Link, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("the link a second time: %s", resp.Status)
		}
		if _, err := bootstrap.Run(t.Context(), h.DB, h.Svc.Links, "evil", "", "mallory@example.test"); err != bootstrap.ErrDone {
			t.Fatalf("a second bootstrap: %v", err)
		}
		h.Svc.Links.Wait()
		if n := len(h.Mail.Messages(t, "owner@example.test")); n != 0 {
			t.Fatalf("the bootstrap link was mailed")
		}
	})
}
