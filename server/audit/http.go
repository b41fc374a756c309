package audit

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/web"
)

// Handler serves an organisation's log to those who may manage it.
type Handler struct {
	DB    *db.DB
	Authz *policy.Authorizer
	// OrgID resolves the {org} of a path (an ID or a slug) to an ID.
	OrgID func(ctx context.Context, ref string) (string, error)
}

// Routes adds GET /api/v1/orgs/{org}/audit?before=MICROS&limit=N.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/orgs/{org}/audit", h.list)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	org, err := h.OrgID(r.Context(), r.PathValue("org"))
	if err != nil {
		web.Fail(w, http.StatusNotFound, "%v", err)
		return
	}
	if err := h.Authz.AuthorizeInOrg(r.Context(), auth.From(r.Context()), policy.Manage, policy.OrgResource(org)); err != nil {
		policy.Refuse(w, r, err)
		return
	}
	q := r.URL.Query()
	before, limit := int64(0), 0
	if s := q.Get("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 0 {
			web.Fail(w, http.StatusBadRequest, "before must be a time in Unix microseconds")
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxList {
			web.Fail(w, http.StatusBadRequest, "limit must be a number from 1 to %d", MaxList)
			return
		}
	}
	events, err := List(r.Context(), h.DB, org, before, limit)
	if err != nil {
		slog.ErrorContext(r.Context(), "listing the audit log", "err", err)
		web.Fail(w, http.StatusInternalServerError, "listing the audit log failed")
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"events": events})
}
