package oauth

import (
	"errors"
	"net/http"

	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/web"
)

// Routes adds the start and the callback of every provider.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("GET /signin/oauth/{provider}", s.web.Middleware(http.HandlerFunc(s.start)))
	mux.Handle("GET /signin/oauth/{provider}/callback", s.web.Middleware(http.HandlerFunc(s.callback)))
}

// fail shows the sign-in page with msg.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	page := s.web.Page(r, "Sign in", pages.SignIn{Providers: s.buttons})
	page.Error = msg
	pages.Render(w, status, "signin.html", page)
}

func (s *Service) provider(w http.ResponseWriter, r *http.Request) *Provider {
	p := s.providers[r.PathValue("provider")]
	if p == nil {
		s.fail(w, r, http.StatusNotFound, errNoProvider.Error())
	}
	return p
}

// start sends the browser to the provider, bound to this sign-in. It is a
// GET, a link on the sign-in page: browsers apply the CSP's form-action
// 'self' to a form's redirects, so a form could not lead to the provider.
// A start from another site harms no one: the sign-in it begins is bound
// to the browser that follows it, signed in at the provider as itself.
func (s *Service) start(w http.ResponseWriter, r *http.Request) {
	p := s.provider(w, r)
	if p == nil {
		return
	}
	if !s.byIP.Allow(web.ClientOf(r).IP.String()) {
		w.Header().Set("Retry-After", "60")
		s.fail(w, r, http.StatusTooManyRequests, "Too many sign-ins from here: wait a minute and try again.")
		return
	}
	next := r.URL.Query().Get("next")
	if next != "" && session.LocalPath(next) == "" {
		s.fail(w, r, http.StatusBadRequest, "That sign-in would lead to another site: refused.")
		return
	}
	if err := session.CanSignIn(r); err != nil {
		s.fail(w, r, http.StatusForbidden, err.Error())
		return
	}
	to, err := s.begin(w, r, p, next)
	if err != nil {
		s.log.Error("starting a sign-in", "provider", p.Name, "err", err)
		s.fail(w, r, http.StatusBadGateway, "Signing in with "+p.Name+" is not possible right now: try again later.")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// callback finishes a sign-in: this browser's state, the provider's
// answer checked, the person linked to a user, a new session.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	p := s.provider(w, r)
	if p == nil {
		return
	}
	f, err := s.finish(w, r, p)
	if errors.Is(err, errFlow) {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.fail(w, r, http.StatusBadRequest, "The sign-in with "+p.Name+" did not go through ("+e+").")
		return
	}
	if err := session.CanSignIn(r); err != nil {
		s.fail(w, r, http.StatusForbidden, err.Error())
		return
	}
	ip := web.ClientOf(r).IP.String()
	id, err := p.Flow.identify(r.Context(), p.redirect, q.Get("code"), f.nonce, f.verifier)
	var rejected *Rejected
	switch {
	case errors.As(err, &rejected):
		s.log.Warn("a provider's answer was rejected", "provider", p.Name, "err", err)
		s.refused(r.Context(), p, id, ip, rejected.Error())
		s.fail(w, r, http.StatusBadRequest, p.Name+" could not confirm who you are: start again.")
		return
	case err != nil:
		s.log.Error("finishing a sign-in", "provider", p.Name, "err", err)
		s.fail(w, r, http.StatusBadGateway, p.Name+" could not confirm who you are: start again.")
		return
	}
	userID, err := s.Link(r.Context(), p, id, ip)
	var no *Refusal
	if errors.As(err, &no) {
		s.fail(w, r, http.StatusForbidden, no.Message)
		return
	}
	if err == nil {
		err = s.web.SignIn(w, r, userID, p.method())
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	next := session.LocalPath(f.next)
	if next == "" {
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Service) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("sign-in elsewhere", "err", err)
	s.fail(w, r, http.StatusInternalServerError, "internal error")
}
