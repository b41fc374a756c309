package signin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/mailtest"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/auth/signin"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// harness is the whole team server with sign-in, on a loopback listener,
// its database, and a real mailpit it mails through.
type harness struct {
	t    *testing.T
	URL  string
	DB   *db.DB
	Svc  *signin.Service
	Mail *mailtest.Mailpit
	// http follows no redirects, so tests see each answer.
	http *http.Client
}

// proxies are the trusted proxies' addresses, if any.
func newHarness(t *testing.T, e db.Engine, tweak func(*signin.Options), proxies ...string) *harness {
	t.Helper()
	mp := mailtest.Start(t)
	var handler http.Handler = http.NotFoundHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	srv, err := server.New(context.Background(), server.Config{Database: dbtest.URL(t, e), PublicURL: ts.URL, TrustedProxies: proxies}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	o := signin.Options{PublicURL: ts.URL, Mailer: magiclink.SMTP{Addr: mp.SMTP, From: "Loom <loom@example.test>"}, DeviceInterval: time.Second}
	if tweak != nil {
		tweak(&o)
	}
	svc, err := signin.New(srv.DB, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Links.Wait)
	srv.Handle(svc)
	handler = srv.Handler()
	return &harness{t: t, URL: ts.URL, DB: srv.DB, Svc: svc, Mail: mp,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// user adds a user (the accounts package owns users; this is the least
// the sign-in tests need).
func (h *harness) user(email string) string {
	h.t.Helper()
	id := secret.ID()
	if _, err := h.DB.Exec(`INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, id, email, db.Now()); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// req sends a request; form bodies are url-encoded; cookie may be nil.
func (h *harness) req(method, path string, form url.Values, cookie *http.Cookie, header map[string]string) (*http.Response, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, h.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := h.http.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// sessionCookie is the session cookie an answer set, nil for none.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == session.CookieName || c.Name == session.SecureCookieName {
			return c
		}
	}
	return nil
}

// askLink asks for a sign-in link for email and returns the one mailed.
func (h *harness) askLink(email, next string) string {
	h.t.Helper()
	before := len(h.Mail.Messages(h.t, email))
	resp, body := h.req("POST", "/signin", url.Values{"email": {email}, "next": {next}}, nil, nil)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("POST /signin: %s\n%s", resp.Status, body)
	}
	return mailtest.Link(h.t, h.Mail.Wait(h.t, email, before+1)[0])
}

// redeem posts the token of link; cookie is what the browser brings.
func (h *harness) redeem(link string, cookie *http.Cookie, header ...map[string]string) *http.Response {
	h.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, _ := h.req("POST", "/signin/magic", url.Values{"token": {u.Query().Get("token")}}, cookie, append(header, nil)[0])
	return resp
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs email in through a mailed link and returns the session
// cookie and the CSRF token its pages carry.
func (h *harness) signIn(email string) (*http.Cookie, string) {
	h.t.Helper()
	resp := h.redeem(h.askLink(email, ""), nil)
	c := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || c == nil {
		h.t.Fatalf("redeeming a link: %s, cookie %v", resp.Status, c)
	}
	return c, h.csrf(c)
}

func (h *harness) csrf(c *http.Cookie) string {
	h.t.Helper()
	resp, body := h.req("GET", "/account", nil, c, nil)
	m := csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		h.t.Fatalf("GET /account: %s, no CSRF token\n%s", resp.Status, body)
	}
	return m[1]
}

// signInMethods are the audited sign-ins' "method kind", oldest first.
func signInMethods(t *testing.T, h *harness) []string {
	t.Helper()
	events, err := audit.List(t.Context(), h.DB, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		var method, kind string
		if e := events[i]; e.Action == audit.SignedIn {
			fmt.Sscanf(e.Detail, "method=%s kind=%s", &method, &kind)
			out = append(out, method+" "+kind)
		}
	}
	return out
}

// each runs fn against a whole server on each engine dbtest covers (the
// server opens the database itself, so it needs the URL, not a *db.DB).
func each(t *testing.T, fn func(t *testing.T, e db.Engine)) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}
