package oauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth/oauth"
	"github.com/loom-agent/loom/server/auth/oauth/optest"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// opSecret is the client secret Loom holds at the real provider.
const opSecret = "op-client-secret-5f1c9a"

// harness is the whole team server (server.Open, configured as an admin
// would) on a loopback listener.
type harness struct {
	t   *testing.T
	URL string
	DB  *db.DB
	// OP is the real OpenID provider configured as "op", when started.
	OP *optest.Provider
}

// newHarness starts the server; withOP also starts a real OpenID provider
// and configures it as "op". tweak edits the configuration last.
func newHarness(t *testing.T, e db.Engine, withOP bool, tweak func(*server.Config)) *harness {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	h := &harness{t: t, URL: ts.URL}
	cfg := server.Config{Database: dbtest.URL(t, e), PublicURL: ts.URL}
	if withOP {
		h.OP = optest.Start(t, optest.Client{ID: "loom", Secret: opSecret, RedirectURIs: []string{ts.URL + oauth.CallbackPath("op")}})
		cfg.OIDC = []server.OIDCConfig{{Name: "op", Label: "Sign in with Test OP", Issuer: h.OP.Issuer, ClientID: "loom",
			ClientSecretFile: secretFile(t, opSecret)}}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	team, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { team.Close() })
	h.DB = team.DB
	handler = team.Handler()
	return h
}

func secretFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// user adds a user with email.
func (h *harness) user(email string) string {
	h.t.Helper()
	id := secret.ID()
	if _, err := h.DB.Exec(`INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, id, email, db.Now()); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// invite adds a waiting invitation to email (the accounts package makes
// them; this is the row it writes).
func (h *harness) invite(email string) {
	h.t.Helper()
	if _, err := h.DB.Exec(`INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $1, 'Org', $2) ON CONFLICT DO NOTHING`, "org", db.Now()); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.DB.Exec(`INSERT INTO invitations (id, org_id, email, role, token_hash, created_at, expires_at) VALUES ($1, 'org', $2, 'member', $3, $4, $5)`,
		secret.ID(), email, secret.Hash(secret.New()), db.Now(), db.Now()+time.Hour.Microseconds()); err != nil {
		h.t.Fatal(err)
	}
}

// count returns the number of rows query finds.
func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.DB.QueryRow(query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// events are the server-wide audit entries with action, oldest first.
func (h *harness) events(action string) []audit.Event {
	h.t.Helper()
	all, err := audit.List(context.Background(), h.DB, "", 0, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []audit.Event
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Action == action {
			out = append(out, all[i])
		}
	}
	return out
}

// browser is one browser: its own cookies; it follows redirects except
// those back to Loom, so each of Loom's answers can be looked at.
type browser struct {
	h *harness
	c *http.Client
	// authURLs are the provider URLs Loom sent this browser to.
	authURLs []*url.URL
	// rewrite, if set, changes the request to the provider's authorization
	// endpoint (a tampering test).
	rewrite func(q url.Values)
	// lastBind is the last binding cookie Loom set (a jar hides its attributes).
	lastBind *http.Cookie
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{h: h}
	b.c = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.noteBind(req.Response)
		if strings.HasPrefix(req.URL.String(), h.URL) {
			return http.ErrUseLastResponse
		}
		if strings.HasPrefix(via[len(via)-1].URL.String(), h.URL) {
			// Loom is sending the browser to a provider.
			if b.rewrite != nil {
				q := req.URL.Query()
				b.rewrite(q)
				req.URL.RawQuery = q.Encode()
			}
			u := *req.URL
			b.authURLs = append(b.authURLs, &u)
		}
		return nil
	}
	return b
}

// noteBind keeps the binding cookie a Loom answer sets.
func (b *browser) noteBind(resp *http.Response) {
	if resp == nil || !strings.HasPrefix(resp.Request.URL.String(), b.h.URL) {
		return
	}
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "loom_oauth") {
			b.lastBind = c
		}
	}
}

// start presses provider's button on the sign-in page, with next, and
// returns what the browser ends at: the provider's login page, or the
// redirect back to Loom.
func (b *browser) start(provider, next string) *http.Response {
	b.h.t.Helper()
	u := b.h.URL + "/signin/oauth/" + provider
	if next != "" {
		u += "?next=" + url.QueryEscape(next)
	}
	resp, err := b.c.Get(u)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return resp
}

// toCallback runs the provider's side of a sign-in (logging in as login at
// the real provider when it shows its forms) and returns the URL the
// provider sends the browser back to, unvisited.
func (b *browser) toCallback(provider, next, login string) string {
	b.h.t.Helper()
	resp := b.start(provider, next)
	if resp.StatusCode == http.StatusOK && !strings.HasPrefix(resp.Request.URL.String(), b.h.URL) {
		resp = optest.Login(b.h.t, b.c, resp, login)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, b.h.URL+oauth.CallbackPath(provider)) {
		b.h.t.Fatalf("no redirect back to Loom: %s, Location %q", resp.Status, loc)
	}
	return loc
}

// bindCookie is the cookie binding a sign-in to this browser, as Loom
// set it, or nil.
func (b *browser) bindCookie() *http.Cookie {
	if b.lastBind == nil || b.lastBind.MaxAge < 0 {
		return nil
	}
	return b.lastBind
}

// get visits u and returns Loom's answer and its body.
func (b *browser) get(u string) (*http.Response, string) {
	b.h.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.h.t.Fatal(err)
	}
	b.noteBind(resp)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn signs in at provider as login and returns Loom's answer to the
// callback.
func (b *browser) signIn(provider, next, login string) (*http.Response, string) {
	b.h.t.Helper()
	return b.get(b.toCallback(provider, next, login))
}

// sessionCookie is the session cookie the answer set, nil for none.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if (c.Name == session.CookieName || c.Name == session.SecureCookieName) && c.Value != "" {
			return c
		}
	}
	return nil
}

// me is who the browser is signed in as, "" for nobody.
func (b *browser) me() string {
	b.h.t.Helper()
	resp, body := b.get(b.h.URL + "/api/v1/me")
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	_, rest, _ := strings.Cut(body, `"email":"`)
	email, _, _ := strings.Cut(rest, `"`)
	return email
}

// each runs fn against a whole server on each engine dbtest covers.
func each(t *testing.T, fn func(t *testing.T, e db.Engine)) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}
