package apikeys

import (
	"context"
	"errors"
	"fmt"
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

// errNoOrg is an {org} that names no organisation.
var errNoOrg = errors.New("no such organisation")

// authorized resolves {org} and asks whether the principal may act on
// res; the API and the pages both ask here.
func (h *Handler) authorized(r *http.Request, act policy.Action, res func(org string) policy.Resource) (string, error) {
	org, err := h.OrgID(r.Context(), r.PathValue("org"))
	if err != nil {
		return "", fmt.Errorf("%w %q", errNoOrg, r.PathValue("org"))
	}
	return org, h.Authz.AuthorizeInOrg(r.Context(), auth.From(r.Context()), act, res(org))
}

// allowed is authorized for the API: it answers the request itself when
// not.
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request, act policy.Action, res func(org string) policy.Resource) (string, bool) {
	org, err := h.authorized(r, act, res)
	switch {
	case errors.Is(err, errNoOrg):
		web.Fail(w, http.StatusNotFound, "%v", err)
	case err != nil:
		policy.Refuse(w, r, err)
	default:
		return org, true
	}
	return "", false
}

// createKey makes a key for {org}: those who may manage it. The secret is
// returned this once.
func (h *Handler) createKey(r *http.Request, name string, scopes []string, expiresAt int64) (Key, string, error) {
	org, err := h.authorized(r, policy.Manage, policy.OrgResource)
	if err != nil {
		return Key{}, "", err
	}
	return h.Keys.Create(r.Context(), audit.ActorOf(r), org, auth.From(r.Context()).UserID, name, scopes, expiresAt)
}

// revokeKey revokes {org}'s key {id}: those who may manage it.
func (h *Handler) revokeKey(r *http.Request) error {
	id := r.PathValue("id")
	org, err := h.authorized(r, policy.Manage, func(org string) policy.Resource { return policy.APIKeyResource(org, id) })
	if err != nil {
		return err
	}
	return h.Keys.Revoke(r.Context(), audit.ActorOf(r), org, id)
}

type createRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is an RFC 3339 time; empty never.
	ExpiresAt string `json:"expires_at,omitempty"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
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
	k, secret, err := h.createKey(r, req.Name, req.Scopes, expires)
	if err != nil {
		h.fail(w, r, "creating", err)
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
		h.fail(w, r, "listing", err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	if err := h.revokeKey(r); err != nil {
		h.fail(w, r, "revoking", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// statusOf is the HTTP status of an error of the store or the authorizer.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errNoOrg), errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	default:
		return policy.Status(err)
	}
}

// fail answers the API request whose doing failed with err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	switch code := statusOf(err); {
	case errors.Is(err, policy.ErrUnauthenticated), errors.Is(err, policy.ErrForbidden), errors.Is(err, policy.ErrHidden):
		policy.Refuse(w, r, err)
	case code == http.StatusInternalServerError:
		slog.ErrorContext(r.Context(), doing+" an API key", "err", err)
		web.Fail(w, code, "%s API keys failed", doing)
	default:
		web.Fail(w, code, "%v", err)
	}
}
