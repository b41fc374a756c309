package oauth_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// A person invited by email signs in at a real OpenID provider: the code
// flow with PKCE runs through the server, the email (from userinfo, as
// this provider gives it) is verified, the user is created and the
// identity linked, ?next= is followed, and the audit log says so. The
// second sign-in finds the identity. Nothing secret of the flow is stored.
func TestOIDCSignInAtARealProvider(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, true, nil)
		h.invite("ada@example.test")
		if _, body := h.browser().get(h.URL + "/signin"); !strings.Contains(body, `id="signin-op"`) || !strings.Contains(body, "Sign in with Test OP") {
			t.Fatalf("the sign-in page has no button for the provider:\n%s", body)
		}
		b := h.browser()
		callback := b.toCallback("op", "/device?user_code=ABCD-EFGH", "ada")
		bind := b.bindCookie()
		if bind == nil || !bind.HttpOnly || bind.SameSite != http.SameSiteLaxMode || bind.MaxAge <= 0 || bind.MaxAge > 600 {
			t.Fatalf("binding cookie %+v: want HttpOnly, SameSite=Lax, short-lived", bind)
		}
		resp, body := b.get(callback)
		if resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil || resp.Header.Get("Location") != "/device?user_code=ABCD-EFGH" {
			t.Fatalf("callback: %s, Location %q, cookie %v\n%s", resp.Status, resp.Header.Get("Location"), sessionCookie(resp), body)
		}
		if got := b.me(); got != "ada@example.test" {
			t.Fatalf("signed in as %q", got)
		}
		if n := h.count(`SELECT COUNT(*) FROM identities i JOIN users u ON u.id = i.user_id WHERE i.provider = $1 AND i.subject = 'ada' AND u.email = 'ada@example.test'`, h.OP.Issuer); n != 1 {
			t.Fatalf("%d identities (issuer, subject) linked to the user", n)
		}
		created, linked, signed := h.events(audit.UserCreated), h.events(audit.IdentityLinked), h.events(audit.SignedIn)
		if len(created) != 1 || !strings.Contains(created[0].Detail, "because=invitation") || len(linked) != 1 ||
			len(signed) != 1 || !strings.Contains(signed[0].Detail, "method=oidc:op") || signed[0].Actor != created[0].Target || signed[0].IP != "127.0.0.1" {
			t.Fatalf("audit: created %+v, linked %+v, signed in %+v", created, linked, signed)
		}

		// The binding cookie, the state, the nonce, the code and the client
		// secret are nowhere in the database.
		cb, _ := url.Parse(callback)
		auth := b.authURLs[0].Query()
		for _, s := range []string{bind.Value, cb.Query().Get("state"), cb.Query().Get("code"), auth.Get("nonce"), opSecret} {
			if s == "" {
				t.Fatalf("a value to look for is empty (callback %s, auth %v)", callback, auth)
			}
			dbtest.AssertNotStored(t, h.DB, s)
		}
		if auth.Get("code_challenge_method") != "S256" || auth.Get("code_challenge") == "" {
			t.Fatalf("no PKCE S256 in %v", auth)
		}

		// Again, in another browser: the identity signs in, nothing is created.
		b2 := h.browser()
		if resp, _ := b2.signIn("op", "", "ada"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Fatalf("second sign-in: %s to %q", resp.Status, resp.Header.Get("Location"))
		}
		if b2.me() != "ada@example.test" || h.count(`SELECT COUNT(*) FROM users`) != 1 || len(h.events(audit.SignedIn)) != 2 {
			t.Fatal("the second sign-in did not find the same user")
		}
		// Signing out is audited.
		_, page := b2.get(h.URL + "/account")
		m := csrfRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the account page:\n%s", page)
		}
		resp, err := b2.c.PostForm(h.URL+"/signout", url.Values{"csrf_token": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if out := h.events(audit.SignedOut); b2.me() != "" || len(out) != 1 || out[0].Actor != signed[0].Actor {
			t.Fatalf("after signing out: me %q, sign-outs audited %+v", b2.me(), out)
		}
	})
}

// The state is good once, in the browser that started the sign-in.
func TestOIDCStateBoundAndSingleUse(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, true, nil)
		h.user("ada@example.test")

		// Another browser, with a sign-in of its own, brings ada's callback:
		// refused, and ada's sign-in is spent.
		ada, mallory := h.browser(), h.browser()
		stolen := ada.toCallback("op", "", "ada")
		mallory.toCallback("op", "", "mallory")
		if resp, _ := mallory.get(stolen); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil || mallory.me() != "" {
			t.Fatalf("another browser's callback: %s, signed in as %q", resp.Status, mallory.me())
		}

		// A tampered state, then a used one.
		b := h.browser()
		callback := b.toCallback("op", "", "ada")
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		if resp, _ := b.get(u.String()); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("a tampered state: %s", resp.Status)
		}
		b = h.browser()
		callback = b.toCallback("op", "", "ada")
		bind := b.bindCookie()
		if resp, _ := b.get(callback); resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
			t.Fatalf("the genuine callback: %s", resp.Status)
		}
		if b.bindCookie() != nil {
			t.Fatal("the binding cookie outlived its sign-in")
		}
		// Replayed by the same browser, its binding cookie put back; then
		// by a browser with a sign-in of its own.
		b.c.Jar.SetCookies(u, []*http.Cookie{bind})
		if resp, _ := b.get(callback); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("a used state, same browser: %s", resp.Status)
		}
		replay := h.browser()
		replay.toCallback("op", "", "other")
		if resp, _ := replay.get(callback); resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil {
			t.Fatalf("a used state: %s", resp.Status)
		}
		if n := len(h.events(audit.SignedIn)); n != 1 {
			t.Fatalf("%d sign-ins audited, want 1", n)
		}
	})
}

// An ID token carrying another sign-in's nonce is refused: the test
// changes the nonce on its way to the provider, which signs it into the
// token.
func TestOIDCNonceMismatchRefused(t *testing.T) {
	h := newHarness(t, db.SQLite, true, nil)
	h.user("ada@example.test")
	b := h.browser()
	b.rewrite = func(q url.Values) { q.Set("nonce", "a-nonce-of-another-sign-in") }
	resp, body := b.signIn("op", "", "ada")
	if resp.StatusCode != http.StatusBadRequest || sessionCookie(resp) != nil || b.me() != "" {
		t.Fatalf("a foreign nonce: %s, signed in as %q\n%s", resp.Status, b.me(), body)
	}
	if r := h.events(audit.SignInRefused); len(r) != 1 || !strings.Contains(r[0].Detail, "nonce") {
		t.Fatalf("refusals audited: %+v", r)
	}
}

// Who may get in: an unverified email links nothing and creates nobody;
// without an invitation, self sign-up is refused unless the provider
// allows it for the email's domain; each refusal is audited.
func TestOIDCWhoMaySignIn(t *testing.T) {
	each(t, func(t *testing.T, e db.Engine) {
		h := newHarness(t, e, true, func(c *server.Config) {
			c.OIDC[0].AllowSignup = true
			c.OIDC[0].SignupDomains = []string{"corp.test"}
		})
		// An existing user and an invitation to the unverified addresses
		// do not help: the provider does not vouch for them.
		h.user("unverified-bob@example.test")
		h.invite("unverified-eve@example.test")
		for _, login := range []string{"unverified-bob", "unverified-eve"} {
			b := h.browser()
			if resp, body := b.signIn("op", "", login); resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil ||
				!strings.Contains(body, "no verified email") {
				t.Fatalf("%s: %s\n%s", login, resp.Status, body)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM identities`); n != 0 {
			t.Fatalf("%d identities linked to unverified emails", n)
		}
		if n := h.count(`SELECT COUNT(*) FROM users`); n != 1 {
			t.Fatalf("%d users, want only bob's", n)
		}
		// Outside the sign-up domains: refused; inside: created.
		if resp, body := h.browser().signIn("op", "", "carol@elsewhere.test"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ask an admin") {
			t.Fatalf("sign-up from another domain: %s\n%s", resp.Status, body)
		}
		b := h.browser()
		if resp, _ := b.signIn("op", "", "dan@corp.test"); resp.StatusCode != http.StatusSeeOther || b.me() != "dan@corp.test" {
			t.Fatalf("sign-up from corp.test: %s", resp.Status)
		}
		refused := h.events(audit.SignInRefused)
		var reasons []string
		for _, r := range refused {
			reasons = append(reasons, r.Detail)
		}
		if len(refused) != 3 || !strings.Contains(reasons[0], "reason=email not verified") || !strings.Contains(reasons[2], "reason=self sign-up refused") ||
			!strings.Contains(reasons[2], "carol@elsewhere.test") {
			t.Fatalf("refusals audited: %q", reasons)
		}
		if c := h.events(audit.UserCreated); len(c) != 1 || !strings.Contains(c[0].Detail, "because=signup") {
			t.Fatalf("users created: %+v", c)
		}
	})
}

// ?next= leads only to a path on this server: the start refuses anything
// else before sending the browser anywhere.
func TestOIDCOpenRedirectRefused(t *testing.T) {
	h := newHarness(t, db.SQLite, true, nil)
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil.example", "javascript:alert(1)", "/ok\r\nLocation: https://evil.example"} {
		b := h.browser()
		resp := b.start("op", next)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || len(b.authURLs) != 0 {
			t.Errorf("next %q: %s, sent to %v", next, resp.Status, b.authURLs)
		}
	}
	if n := h.count(`SELECT COUNT(*) FROM oauth_states`); n != 0 {
		t.Fatalf("%d sign-ins started", n)
	}
}
