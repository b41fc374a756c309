package apikeys

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/web"
)

// Handler is the JSON API of an organisation's keys, for its admins.
type Handler struct {
	Keys  *Store
	Authz *policy.Authorizer
	// OrgID resolves the {org} of a path (an ID or a slug) to an ID.
	OrgID func(ctx context.Context, ref string) (string, error)
}

// Routes adds:
//
//	POST   /api/v1/orgs/{org}/keys       {name, scopes, expires_at?} → 201 {key, secret}
//	GET    /api/v1/orgs/{org}/keys       → {keys}
//	DELETE /api/v1/orgs/{org}/keys/{id}  → 204
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/orgs/{org}/keys", h.create)
	mux.HandleFunc("GET /api/v1/orgs/{org}/keys", h.list)
	mux.HandleFunc("DELETE /api/v1/orgs/{org}/keys/{id}", h.revoke)
}

// allowed resolves {org} and asks whether the principal may act on res;
// it answers the request itself when not.
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request, act policy.Action, res func(org string) policy.Resource) (string, bool) {
	org, err := h.OrgID(r.Context(), r.PathValue("org"))
	if err != nil {
		web.Fail(w, http.StatusNotFound, "no organisation %q", r.PathValue("org"))
		return "", false
	}
	if err := h.Authz.AuthorizeInOrg(r.Context(), auth.From(r.Context()), act, res(org)); err != nil {
		policy.Refuse(w, r, err)
		return "", false
	}
	return org, true
}

type createRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is an RFC 3339 time; empty never.
	ExpiresAt string `json:"expires_at,omitempty"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	org, ok := h.allowed(w, r, policy.Manage, policy.OrgResource)
	if !ok {
		return
	}
	var req createRequest
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var expires int64
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			web.Fail(w, http.StatusBadRequest, "expires_at must be an RFC 3339 time: %v", err)
			return
		}
		expires = t.UnixMicro()
	}
	p := auth.From(r.Context())
	k, secret, err := h.Keys.Create(r.Context(), audit.ActorOf(r), org, p.UserID, req.Name, req.Scopes, expires)
	if errors.Is(err, ErrBadRequest) {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err != nil {
		slog.ErrorContext(r.Context(), "creating an API key", "err", err)
		web.Fail(w, http.StatusInternalServerError, "creating the key failed")
		return
	}
	web.JSON(w, http.StatusCreated, map[string]any{"key": k, "secret": secret})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	org, ok := h.allowed(w, r, policy.Manage, policy.OrgResource)
	if !ok {
		return
	}
	keys, err := h.Keys.List(r.Context(), org)
	if err != nil {
		slog.ErrorContext(r.Context(), "listing API keys", "err", err)
		web.Fail(w, http.StatusInternalServerError, "listing the keys failed")
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	org, ok := h.allowed(w, r, policy.Manage, func(org string) policy.Resource { return policy.APIKeyResource(org, id) })
	if !ok {
		return
	}
	err := h.Keys.Revoke(r.Context(), audit.ActorOf(r), org, id)
	switch {
	case errors.Is(err, ErrNotFound):
		web.Fail(w, http.StatusNotFound, "%v", err)
	case err != nil:
		slog.ErrorContext(r.Context(), "revoking an API key", "err", err)
		web.Fail(w, http.StatusInternalServerError, "revoking the key failed")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
