package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/web"
)

// Cookie names. Over HTTPS the cookie carries the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain: a sibling
// subdomain cannot plant one (cookie tossing).
const (
	CookieName       = "loom_session"
	SecureCookieName = "__Host-" + CookieName
)

// CSRFField and CSRFHeader carry the CSRF token in a form or a request.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// maxFormBody bounds the forms the middleware reads for a CSRF token.
const maxFormBody = 64 << 10

// Web signs browsers in and out and turns each request's credential into
// an auth.Principal.
type Web struct {
	Store *Store
	// AccountSections are the account page's parts beyond sessions, in
	// order; set them before the server serves.
	AccountSections []Section
	log             *slog.Logger
	cop             *http.CrossOriginProtection
}

// NewWeb returns the web side of store. publicURL is the origin pages are
// served from; a form posted from it passes the origin check even behind a
// proxy that rewrites Host.
func NewWeb(store *Store, publicURL string, log *slog.Logger) *Web {
	if log == nil {
		log = slog.Default()
	}
	cop := http.NewCrossOriginProtection()
	if publicURL != "" {
		cop.AddTrustedOrigin(strings.TrimSuffix(publicURL, "/"))
	}
	return &Web{Store: store, log: log, cop: cop}
}

// secureContext reports whether the client's cookie must be Secure: always,
// except for a browser on this machine over plain HTTP (a server started
// with no flags), which browsers treat as a secure context anyway.
func secureContext(r *http.Request) bool {
	c := web.ClientOf(r)
	return c.HTTPS || !c.IP.IsLoopback()
}

// CanSignIn says why a browser cannot get a session cookie here: over
// plain HTTP from another machine, the cookie would travel in clear.
func CanSignIn(r *http.Request) error {
	c := web.ClientOf(r)
	if !c.HTTPS && !c.IP.IsLoopback() {
		return errors.New("signing in needs HTTPS: serve the server over TLS or behind a trusted proxy that terminates it")
	}
	return nil
}

func cookieName(r *http.Request) string {
	if secureContext(r) {
		return SecureCookieName
	}
	return CookieName
}

// cookieToken is the session token the browser sent, if any. Over HTTPS
// only the __Host- cookie counts.
func cookieToken(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// SignIn starts a web session for userID and sets its cookie; the audit
// log records the sign-in and its method (see Store.SignIn). Whatever
// session cookie the browser brought is ignored and its session ended: the
// token after sign-in is always new, so a token planted before it
// (session fixation) never becomes a signed-in session.
func (wb *Web) SignIn(w http.ResponseWriter, r *http.Request, userID, method string) error {
	if err := CanSignIn(r); err != nil {
		return err
	}
	if old := cookieToken(r); old != "" {
		if err := wb.Store.revokeToken(r.Context(), old); err != nil {
			return err
		}
	}
	token, _, err := wb.Store.SignIn(r.Context(), userID, auth.KindWeb, method, r.UserAgent(), web.ClientOf(r).IP.String())
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName(r), Value: token, Path: "/", HttpOnly: true, Secure: secureContext(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(wb.Store.limits[auth.KindWeb].Max.Seconds()),
	})
	return nil
}

// SignOut ends the browser's session, if any, and clears its cookie.
func (wb *Web) SignOut(w http.ResponseWriter, r *http.Request) error {
	if t := cookieToken(r); t != "" {
		if err := wb.Store.revokeToken(r.Context(), t); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: "", Path: "/", HttpOnly: true,
		Secure: secureContext(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

// csrfOf derives a session's CSRF token from its session token: knowing
// one does not reveal the other, and no page served to another browser
// contains it.
func csrfOf(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("loom csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type csrfKey struct{}

// CSRF returns the CSRF token that forms rendered for this request must
// carry ("" without a web session).
func CSRF(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey{}).(string)
	return s
}

// ErrNoCredential means the request carries no session credential at all,
// as opposed to one that is wrong.
var ErrNoCredential = errors.New("no session credential")

// Authenticate finds the principal of a request from its command-line
// bearer token or its session cookie. It answers ErrNoCredential when the
// request has neither (an API key is another checker's business),
// ErrNotFound when the one it has names no live session.
func (wb *Web) Authenticate(r *http.Request) (*auth.Principal, error) {
	p, _, err := wb.authenticate(r)
	return p, err
}

func (wb *Web) authenticate(r *http.Request) (*auth.Principal, *found, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, CLIPrefix) {
			return nil, nil, ErrNoCredential
		}
		f, err := wb.Store.lookup(r.Context(), tok, auth.KindCLI)
		if err != nil {
			return nil, nil, err
		}
		return f.principal, nil, nil
	}
	tok := cookieToken(r)
	if tok == "" {
		return nil, nil, ErrNoCredential
	}
	f, err := wb.Store.lookup(r.Context(), tok, auth.KindWeb)
	if err != nil {
		return nil, nil, err
	}
	return f.principal, &f, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Middleware puts the request's principal in its context (auth.From). A
// state-changing request that comes with the session cookie must pass the
// origin check and carry the session's CSRF token, or it is refused with
// 403 before the handler runs. A wrong bearer token is refused with 401; a
// stale cookie makes the request anonymous.
func (wb *Web) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, cookie, err := wb.authenticate(r)
		switch {
		case err == nil:
		case errors.Is(err, ErrNoCredential):
			next.ServeHTTP(w, r)
			return
		case errors.Is(err, ErrNotFound):
			if r.Header.Get("Authorization") != "" {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				web.Fail(w, http.StatusUnauthorized, "%s", err)
				return
			}
			next.ServeHTTP(w, r)
			return
		default:
			wb.log.Error("authenticating a request", "err", err)
			web.Fail(w, http.StatusInternalServerError, "internal error")
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		if cookie != nil {
			if !safeMethod(r.Method) {
				if err := wb.checkCSRF(w, r, cookie.csrfHash); err != nil {
					web.Fail(w, http.StatusForbidden, "%s", err)
					return
				}
			}
			ctx = context.WithValue(ctx, csrfKey{}, csrfOf(cookieToken(r)))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// checkCSRF refuses a cross-origin request, then one without the session's
// CSRF token (compared, as hashes, in constant time).
func (wb *Web) checkCSRF(w http.ResponseWriter, r *http.Request, want string) error {
	if err := wb.cop.Check(r); err != nil {
		return errors.New("cross-origin request refused")
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		got = r.PostFormValue(CSRFField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(secret.Hash(got)), []byte(want)) != 1 {
		return errors.New("missing or wrong CSRF token: reload the page and try again")
	}
	return nil
}

// SameOrigin wraps a handler of unauthenticated forms (sign-in) in the
// origin check alone: a page elsewhere cannot post them (login CSRF).
func (wb *Web) SameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := wb.cop.Check(r); err != nil {
			web.Fail(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RequirePage lets through a signed-in browser and sends anyone else to
// the sign-in page, to come back here afterwards.
func (wb *Web) RequirePage(h http.Handler) http.Handler {
	return wb.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := auth.From(r.Context()); p == nil || p.Kind != auth.KindWeb {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// RequireAPI lets through a request with a session credential (web or
// command line) and answers 401 to anyone else.
func (wb *Web) RequireAPI(h http.Handler) http.Handler {
	return wb.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := auth.From(r.Context()); p == nil || p.SessionID == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loom"`)
			web.Fail(w, http.StatusUnauthorized, "sign in first (loom login)")
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// LocalPath returns next if it is a path on this server ("/account",
// "/device?user_code=X"), and "" for anything that could lead elsewhere:
// whatever does not start with one slash (an absolute URL, a
// scheme-relative "//host"), a backslash that browsers read as a slash,
// control characters (which browsers strip, turning "/	/host" into
// "//host"). Used for every ?next= redirect.
func LocalPath(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	return next
}
