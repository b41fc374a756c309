package session

import (
	"html/template"
	"net/http"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/web"
)

// Me is what GET /api/v1/me answers: who the credential signs in as.
type Me struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Kind      auth.Kind `json:"kind"`
	SessionID string    `json:"session_id,omitempty"`
}

// Routes adds the session API and the account page.
func (wb *Web) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/me", wb.RequireAPI(http.HandlerFunc(wb.me)))
	mux.Handle("GET /api/v1/sessions", wb.RequireAPI(http.HandlerFunc(wb.listAPI)))
	mux.Handle("DELETE /api/v1/sessions/{id}", wb.RequireAPI(http.HandlerFunc(wb.revokeAPI)))
	mux.Handle("POST /api/v1/signout", wb.RequireAPI(http.HandlerFunc(wb.signOutAPI)))
	mux.Handle("GET /account", wb.RequirePage(http.HandlerFunc(wb.account)))
	mux.Handle("POST /account/sessions/{id}/revoke", wb.RequirePage(http.HandlerFunc(wb.revokePage)))
	mux.Handle("POST /signout", wb.Middleware(http.HandlerFunc(wb.signOutPage)))
}

func (wb *Web) me(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	web.JSON(w, http.StatusOK, Me{UserID: p.UserID, Email: p.Email, Kind: p.Kind, SessionID: p.SessionID})
}

func (wb *Web) list(r *http.Request) ([]Session, error) {
	p := auth.From(r.Context())
	list, err := wb.Store.List(r.Context(), p.UserID)
	for i := range list {
		list[i].Current = list[i].ID == p.SessionID
	}
	return list, err
}

func (wb *Web) listAPI(w http.ResponseWriter, r *http.Request) {
	list, err := wb.list(r)
	if err != nil {
		wb.internal(w, err)
		return
	}
	web.JSON(w, http.StatusOK, struct {
		Sessions []Session `json:"sessions"`
	}{append([]Session{}, list...)})
}

func (wb *Web) revokeAPI(w http.ResponseWriter, r *http.Request) {
	ok, err := wb.Store.Revoke(r.Context(), auth.From(r.Context()).UserID, r.PathValue("id"))
	if ok {
		err = wb.recordSignOut(r, r.PathValue("id"), "revoked")
	}
	if err != nil {
		wb.internal(w, err)
		return
	}
	if !ok {
		web.Fail(w, http.StatusNotFound, "you have no live session %q", r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signOutAPI ends the session the request came with: `loom logout`.
func (wb *Web) signOutAPI(w http.ResponseWriter, r *http.Request) {
	p := auth.From(r.Context())
	ok, err := wb.Store.Revoke(r.Context(), p.UserID, p.SessionID)
	if ok {
		err = wb.recordSignOut(r, p.SessionID, "signed out")
	}
	if err != nil {
		wb.internal(w, err)
		return
	}
	if p.Kind == auth.KindWeb {
		wb.SignOut(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (wb *Web) account(w http.ResponseWriter, r *http.Request) {
	wb.RenderAccount(w, r, http.StatusOK, "")
}

// Section is a part of the account page another component renders
// (pages.Fragment) for the signed-in person: their organisations, the API
// keys they may manage.
type Section func(r *http.Request) (template.HTML, error)

// RenderAccount renders the account page: the person's sessions, then each
// of AccountSections, with problem ("" for none) above them.
func (wb *Web) RenderAccount(w http.ResponseWriter, r *http.Request, status int, problem string) {
	list, err := wb.list(r)
	if err != nil {
		wb.internal(w, err)
		return
	}
	data := struct {
		Sessions []Session
		Sections []template.HTML
	}{Sessions: list}
	for _, section := range wb.AccountSections {
		html, err := section(r)
		if err != nil {
			wb.internal(w, err)
			return
		}
		data.Sections = append(data.Sections, html)
	}
	page := wb.Page(r, "Account", data)
	page.Error = problem
	pages.Render(w, status, "account.html", page)
}

func (wb *Web) revokePage(w http.ResponseWriter, r *http.Request) {
	ok, err := wb.Store.Revoke(r.Context(), auth.From(r.Context()).UserID, r.PathValue("id"))
	if ok {
		err = wb.recordSignOut(r, r.PathValue("id"), "revoked")
	}
	if err != nil {
		wb.internal(w, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// signOutPage signs the browser out; without a live session there is
// nothing to protect, so it only clears the cookie.
func (wb *Web) signOutPage(w http.ResponseWriter, r *http.Request) {
	err := wb.SignOut(w, r)
	if p := auth.From(r.Context()); err == nil && p != nil && p.Kind == auth.KindWeb {
		err = wb.recordSignOut(r, p.SessionID, "signed out")
	}
	if err != nil {
		wb.internal(w, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// recordSignOut writes to the audit log that the request's user ended
// session id (their own, or another of theirs they revoked).
func (wb *Web) recordSignOut(r *http.Request, id, how string) error {
	return audit.Append(r.Context(), wb.Store.db, audit.ActorOf(r), "", audit.SignedOut, id, how)
}

// Page fills the layout's fields for the request's principal.
func (wb *Web) Page(r *http.Request, title string, data any) pages.Page {
	p := pages.Page{Title: title, Data: data, CSRF: CSRF(r.Context())}
	if pr := auth.From(r.Context()); pr != nil && pr.Kind == auth.KindWeb {
		p.Email = pr.Email
	}
	return p
}

func (wb *Web) internal(w http.ResponseWriter, err error) {
	wb.log.Error("session handler", "err", err)
	web.Fail(w, http.StatusInternalServerError, "internal error")
}
