package magiclink

import (
	"errors"
	"net/http"

	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/web"
)

// maxForm bounds the sign-in forms.
const maxForm = 16 << 10

// Routes adds the sign-in pages.
func (l *Links) Routes(mux *http.ServeMux) {
	mux.Handle("GET /signin", l.web.Middleware(http.HandlerFunc(l.signInPage)))
	mux.Handle("POST /signin", l.web.SameOrigin(http.HandlerFunc(l.request)))
	mux.Handle("GET /signin/magic", l.web.Middleware(http.HandlerFunc(l.confirmPage)))
	mux.Handle("POST /signin/magic", l.web.SameOrigin(http.HandlerFunc(l.redeem)))
}

func (l *Links) signInPage(w http.ResponseWriter, r *http.Request) {
	pages.Render(w, http.StatusOK, "signin.html", l.web.Page(r, "Sign in", pages.SignIn{Next: session.LocalPath(r.URL.Query().Get("next")), Providers: l.providers}))
}

func (l *Links) request(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	email, next := r.PostFormValue("email"), r.PostFormValue("next")
	data := pages.SignIn{Email: email, Next: session.LocalPath(next), Minutes: int(TTL.Minutes()), Providers: l.providers}
	page := l.web.Page(r, "Sign in", data)
	if next != "" && data.Next == "" {
		page.Error = "That sign-in would lead to another site: refused."
		pages.Render(w, http.StatusBadRequest, "signin.html", page)
		return
	}
	if err := session.CanSignIn(r); err != nil {
		page.Error = err.Error()
		pages.Render(w, http.StatusForbidden, "signin.html", page)
		return
	}
	err := l.Request(r.Context(), email, data.Next, web.ClientOf(r).IP.String())
	switch {
	case err == nil:
		page.Title = "Check your email"
		pages.Render(w, http.StatusOK, "signin_sent.html", page)
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "300")
		page.Error = err.Error()
		pages.Render(w, http.StatusTooManyRequests, "signin.html", page)
	default:
		if _, bad := NormalizeEmail(email); bad == nil {
			l.log.Error("sign-in request", "err", err)
		}
		page.Error = err.Error()
		pages.Render(w, http.StatusBadRequest, "signin.html", page)
	}
}

func (l *Links) confirmPage(w http.ResponseWriter, r *http.Request) {
	pages.Render(w, http.StatusOK, "magic.html", l.web.Page(r, "Sign in", struct{ Token string }{r.URL.Query().Get("token")}))
}

func (l *Links) redeem(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	fail := func(status int, msg string) {
		page := l.web.Page(r, "Sign in", pages.SignIn{Providers: l.providers})
		page.Error = msg
		pages.Render(w, status, "signin.html", page)
	}
	// Guessing is hopeless (256-bit tokens); the limit keeps it so.
	if !l.byIP.Allow(web.ClientOf(r).IP.String()) {
		w.Header().Set("Retry-After", "60")
		fail(http.StatusTooManyRequests, ErrRateLimited.Error())
		return
	}
	if err := session.CanSignIn(r); err != nil {
		fail(http.StatusForbidden, err.Error())
		return
	}
	userID, next, err := l.Redeem(r.Context(), r.PostFormValue("token"))
	if errors.Is(err, ErrInvalid) {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	if err == nil {
		err = l.web.SignIn(w, r, userID, "magic_link")
	}
	if err != nil {
		l.log.Error("signing in with a link", "err", err)
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	if next = session.LocalPath(next); next == "" {
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
