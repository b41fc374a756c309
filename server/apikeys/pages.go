package apikeys

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// Pages put an organisation's keys on the account page of those who may
// manage them: listed with their last use, made (the secret shown once)
// and revoked through the same operations and authorizer as the API.
type Pages struct {
	*Handler
	Web      *session.Web
	Accounts *accounts.Store
}

// maxForm bounds the key form.
const maxForm = 16 << 10

// Routes adds the key forms of the account page.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.Handle("POST /account/orgs/{org}/keys", p.Web.RequirePage(http.HandlerFunc(p.createPost)))
	mux.Handle("POST /account/orgs/{org}/keys/{id}/revoke", p.Web.RequirePage(http.HandlerFunc(p.revokePost)))
}

// keyRow is a key as the account page lists it.
type keyRow struct {
	Key
	// State is "active", "expired" or "revoked".
	State string
}

// orgKeys are one organisation's keys on the account page.
type orgKeys struct {
	Org    accounts.OrgRole
	Keys   []keyRow
	Scopes []string
}

// AccountSection lists the keys of each organisation the signed-in person
// may manage, with a form for a new one.
func (p *Pages) AccountSection(r *http.Request) (template.HTML, error) {
	pr := auth.From(r.Context())
	orgs, err := p.Accounts.OrgsOf(r.Context(), pr.UserID)
	if err != nil {
		return "", err
	}
	var out []orgKeys
	now := db.Now()
	for _, o := range orgs {
		err := p.Authz.AuthorizeInOrg(r.Context(), pr, policy.Manage, policy.OrgResource(o.ID))
		if errors.Is(err, policy.ErrForbidden) {
			continue
		}
		if err != nil {
			return "", err
		}
		keys, err := p.Keys.List(r.Context(), o.ID)
		if err != nil {
			return "", err
		}
		ok := orgKeys{Org: o, Scopes: Scopes}
		for _, k := range keys {
			row := keyRow{Key: k, State: "active"}
			switch {
			case k.RevokedAt != 0:
				row.State = "revoked"
			case k.ExpiresAt != 0 && k.ExpiresAt <= now:
				row.State = "expired"
			}
			ok.Keys = append(ok.Keys, row)
		}
		out = append(out, ok)
	}
	return pages.Fragment("account_keys.html", p.Web.Page(r, "", out))
}

// expiries are the lifetimes the form offers, in days (0: never).
var expiries = []int{0, 30, 90, 365}

func (p *Pages) createPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.fail(w, r, "creating", fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	var expires int64
	if s := r.PostFormValue("expires_in_days"); s != "" {
		days, err := strconv.Atoi(s)
		if err != nil || !slices.Contains(expiries, days) {
			p.fail(w, r, "creating", fmt.Errorf("%w: choose one of the offered lifetimes", ErrBadRequest))
			return
		}
		if days > 0 {
			expires = time.Now().Add(time.Duration(days) * 24 * time.Hour).UnixMicro()
		}
	}
	k, secret, err := p.createKey(r, r.PostFormValue("name"), r.PostForm["scope"], expires)
	if err != nil {
		p.fail(w, r, "creating", err)
		return
	}
	// Answered here, not redirected: the secret exists only in this answer.
	pages.Render(w, http.StatusCreated, "key_created.html", p.Web.Page(r, "API key created", struct {
		Key    Key
		Secret string
	}{k, secret}))
}

func (p *Pages) revokePost(w http.ResponseWriter, r *http.Request) {
	if err := p.revokeKey(r); err != nil {
		p.fail(w, r, "revoking", err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// fail answers a key form that failed: the account page again with the
// problem, or an error page when the organisation is not the person's to
// manage.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	code := statusOf(err)
	msg := err.Error()
	switch {
	case errors.Is(err, policy.ErrHidden), errors.Is(err, errNoOrg):
		msg = "Not found."
	case code == http.StatusInternalServerError:
		slog.ErrorContext(r.Context(), doing+" an API key", "err", err)
		msg = "Something went wrong on the server; it was logged."
	}
	if code == http.StatusBadRequest || errors.Is(err, ErrNotFound) {
		p.Web.RenderAccount(w, r, code, msg)
		return
	}
	page := p.Web.Page(r, http.StatusText(code), nil)
	page.Error = msg
	pages.Render(w, code, "error.html", page)
}
