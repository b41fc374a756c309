package usage

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/web"
)

// Pages is what the usage page needs of the web sessions (session.Web).
type Pages interface {
	// RequirePage sends a browser without a session to sign in.
	RequirePage(http.Handler) http.Handler
	// Page fills what the layout shows (the signed-in email, the CSRF token).
	Page(r *http.Request, title string, data any) pages.Page
}

// Handler serves usage reports: a person's own calls, or, to its admins,
// an organisation's.
type Handler struct {
	DB    *db.DB
	Authz *policy.Authorizer
	// OrgID resolves ?org= (an ID or a slug) to an ID.
	OrgID func(ctx context.Context, ref string) (string, error)
	// Pages serves the page; nil serves only the API.
	Pages Pages
}

// Routes adds
//
//	GET /api/v1/usage?by=model|user|team|key&since=7d&org=ORG   JSON
//	GET /usage (same query)                                      the page
//
// Without org, the report covers the signed-in person's own calls (read on
// their user); with org, the organisation's (manage on it: its admins).
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/usage", h.api)
	if h.Pages != nil {
		mux.Handle("GET /usage", h.Pages.RequirePage(http.HandlerFunc(h.page)))
	}
}

// errBadQuery marks a query the client wrote wrong.
var errBadQuery = errors.New("bad query")

// query reads and authorizes r's report.
func (h *Handler) query(r *http.Request) (Query, error) {
	v := r.URL.Query()
	q := Query{By: By(v.Get("by"))}
	if q.By == "" {
		q.By = ByModel
	}
	switch q.By {
	case ByModel, ByUser, ByTeam, ByKey:
	default:
		return q, &queryError{"by must be model, user, team or key"}
	}
	since := v.Get("since")
	if since == "" {
		since = "30d"
	}
	var err error
	if q.Since, err = ParseSince(since, time.Now()); err != nil {
		return q, &queryError{err.Error()}
	}
	p := auth.From(r.Context())
	if ref := v.Get("org"); ref != "" {
		if q.Org, err = h.OrgID(r.Context(), ref); err != nil {
			return q, policy.ErrHidden
		}
		return q, h.Authz.AuthorizeInOrg(r.Context(), p, policy.Manage, policy.OrgResource(q.Org))
	}
	if p == nil {
		return q, policy.ErrUnauthenticated
	}
	q.User = p.UserID
	return q, h.Authz.Authorize(r.Context(), p, policy.Read, policy.UserResource(p.UserID))
}

type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func (h *Handler) api(w http.ResponseWriter, r *http.Request) {
	q, err := h.query(r)
	var qe *queryError
	if errors.As(err, &qe) {
		web.Fail(w, http.StatusBadRequest, "%s", qe.msg)
		return
	}
	if err != nil {
		policy.Refuse(w, r, err)
		return
	}
	rep, err := Summarize(r.Context(), h.DB, q)
	if err != nil {
		slog.ErrorContext(r.Context(), "summing usage", "err", err)
		web.Fail(w, http.StatusInternalServerError, "summing usage failed")
		return
	}
	web.JSON(w, http.StatusOK, rep)
}

// pageData is what usage.html shows.
type pageData struct {
	Org, By, Since string
	Bys, Sinces    []string // the choices offered
	Report         *Report
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d := pageData{Org: v.Get("org"), By: v.Get("by"), Since: v.Get("since"),
		Bys: []string{"model", "user", "team", "key"}, Sinces: []string{"1d", "7d", "30d", "90d", "365d"}}
	if d.By == "" {
		d.By = string(ByModel)
	}
	if d.Since == "" {
		d.Since = "30d"
	}
	status, msg := http.StatusOK, ""
	q, err := h.query(r)
	var qe *queryError
	switch {
	case errors.As(err, &qe):
		status, msg = http.StatusBadRequest, qe.msg
	case errors.Is(err, policy.ErrHidden):
		status, msg = http.StatusNotFound, "no such organisation"
	case errors.Is(err, policy.ErrForbidden):
		status, msg = http.StatusForbidden, "only the organisation's admins see its usage"
	case err != nil:
		slog.ErrorContext(r.Context(), "deciding access to usage", "err", err)
		status, msg = http.StatusInternalServerError, "deciding access failed"
	default:
		rep, err := Summarize(r.Context(), h.DB, q)
		if err != nil {
			slog.ErrorContext(r.Context(), "summing usage", "err", err)
			status, msg = http.StatusInternalServerError, "summing usage failed"
		} else {
			d.Report = &rep
		}
	}
	p := h.Pages.Page(r, "Usage", d)
	p.Error = msg
	pages.Render(w, status, "usage.html", p)
}
