package accounts

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/web"
)

// Handler is the JSON API of accounts. Every request is decided by Authz
// before the store is touched.
type Handler struct {
	Store *Store
	Authz *policy.Authorizer
}

// Routes adds the accounts API ({org} is an ID or a slug, {team} too):
//
//	GET    /api/v1/me/orgs                                    the signed-in user and their organisations
//	POST   /api/v1/orgs                                       {slug, name}: a new organisation you own
//	GET    /api/v1/orgs/{org}                                 read
//	PATCH  /api/v1/orgs/{org}                                 {name}: admins
//	GET    /api/v1/orgs/{org}/members                         read
//	PUT    /api/v1/orgs/{org}/members/{user}                  {role}: admins; owners for owners
//	DELETE /api/v1/orgs/{org}/members/{user}                  admins (owners for owners), or yourself
//	GET    /api/v1/orgs/{org}/teams                           read
//	POST   /api/v1/orgs/{org}/teams                           {slug, name}: admins
//	GET    /api/v1/orgs/{org}/teams/{team}                    read: the team and its members
//	DELETE /api/v1/orgs/{org}/teams/{team}                    admins
//	PUT    /api/v1/orgs/{org}/teams/{team}/members/{user}     admins
//	DELETE /api/v1/orgs/{org}/teams/{team}/members/{user}     admins
//	GET    /api/v1/orgs/{org}/invitations                     admins: those waiting
//	POST   /api/v1/orgs/{org}/invitations                     {email, role, expires_in_hours?}: admins; owners for owners
//	DELETE /api/v1/orgs/{org}/invitations/{id}                admins
//	POST   /api/v1/invitations/accept                         {token}: the signed-in invitee
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/me/orgs", h.me)
	mux.HandleFunc("POST /api/v1/orgs", h.createOrg)
	mux.HandleFunc("GET /api/v1/orgs/{org}", h.getOrg)
	mux.HandleFunc("PATCH /api/v1/orgs/{org}", h.renameOrg)
	mux.HandleFunc("GET /api/v1/orgs/{org}/members", h.members)
	mux.HandleFunc("PUT /api/v1/orgs/{org}/members/{user}", h.setRole)
	mux.HandleFunc("DELETE /api/v1/orgs/{org}/members/{user}", h.removeMember)
	mux.HandleFunc("GET /api/v1/orgs/{org}/teams", h.teams)
	mux.HandleFunc("POST /api/v1/orgs/{org}/teams", h.createTeam)
	mux.HandleFunc("GET /api/v1/orgs/{org}/teams/{team}", h.getTeam)
	mux.HandleFunc("DELETE /api/v1/orgs/{org}/teams/{team}", h.deleteTeam)
	mux.HandleFunc("PUT /api/v1/orgs/{org}/teams/{team}/members/{user}", h.addTeamMember)
	mux.HandleFunc("DELETE /api/v1/orgs/{org}/teams/{team}/members/{user}", h.removeTeamMember)
	mux.HandleFunc("GET /api/v1/orgs/{org}/invitations", h.invitations)
	mux.HandleFunc("POST /api/v1/orgs/{org}/invitations", h.invite)
	mux.HandleFunc("DELETE /api/v1/orgs/{org}/invitations/{id}", h.revokeInvitation)
	mux.HandleFunc("POST /api/v1/invitations/accept", h.accept)
}

// statusOf is the HTTP status an error of the store or the authorizer
// means, for the API and the pages alike.
func statusOf(err error) int {
	switch {
	case errors.Is(err, policy.ErrUnauthenticated), errors.Is(err, policy.ErrHidden), errors.Is(err, policy.ErrForbidden):
		return policy.Status(err)
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrWrongEmail):
		return http.StatusForbidden
	case errors.Is(err, ErrExists), errors.Is(err, ErrLastOwner):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrInvitation):
		return http.StatusGone
	default:
		return http.StatusInternalServerError
	}
}

// fail answers with the status an error of the store or the authorizer means.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	switch code := statusOf(err); {
	case errors.Is(err, policy.ErrUnauthenticated), errors.Is(err, policy.ErrForbidden), errors.Is(err, policy.ErrHidden):
		policy.Refuse(w, r, err)
	case code == http.StatusInternalServerError:
		slog.ErrorContext(r.Context(), "accounts", "method", r.Method, "path", r.URL.Path, "err", err)
		web.Fail(w, code, "the request failed")
	default:
		web.Fail(w, code, "%v", err)
	}
}

func (h *Handler) authorize(r *http.Request, act policy.Action, res policy.Resource) error {
	return h.Authz.Authorize(r.Context(), auth.From(r.Context()), act, res)
}

// self is the signed-in person, allowed act on their own account; API
// keys are no one's account.
func (h *Handler) self(r *http.Request, act policy.Action) (User, error) {
	p := auth.From(r.Context())
	if p == nil {
		return User{}, policy.ErrUnauthenticated
	}
	if err := h.authorize(r, act, policy.UserResource(p.UserID)); err != nil {
		return User{}, err
	}
	return h.Store.User(r.Context(), p.UserID)
}

// org resolves {org} and checks act on it; an organisation the principal
// may not read is answered as missing.
func (h *Handler) org(r *http.Request, act policy.Action) (Org, error) {
	o, err := h.Store.Org(r.Context(), r.PathValue("org"))
	if err != nil {
		return Org{}, err
	}
	if err := h.Authz.AuthorizeInOrg(r.Context(), auth.From(r.Context()), act, policy.OrgResource(o.ID)); err != nil {
		return Org{}, err
	}
	return o, nil
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	u, err := h.self(r, policy.Read)
	if err != nil {
		fail(w, r, err)
		return
	}
	orgs, err := h.Store.OrgsOf(r.Context(), u.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"user": u, "orgs": orgs})
}

type orgRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request) {
	u, err := h.self(r, policy.Write)
	if err != nil {
		fail(w, r, err)
		return
	}
	var req orgRequest
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	o, err := h.Store.CreateOrg(r.Context(), audit.ActorOf(r), req.Slug, req.Name, u.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, o)
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request) {
	o, err := h.org(r, policy.Read)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, o)
}

func (h *Handler) renameOrg(w http.ResponseWriter, r *http.Request) {
	o, err := h.org(r, policy.Write)
	if err != nil {
		fail(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err := h.Store.RenameOrg(r.Context(), audit.ActorOf(r), o.ID, req.Name); err != nil {
		fail(w, r, err)
		return
	}
	o.Name = req.Name
	web.JSON(w, http.StatusOK, o)
}

func (h *Handler) members(w http.ResponseWriter, r *http.Request) {
	o, err := h.org(r, policy.Read)
	if err != nil {
		fail(w, r, err)
		return
	}
	ms, err := h.Store.Members(r.Context(), o.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"members": ms})
}

// mayTouchOwner checks grant_owner when a change makes or unmakes an owner.
func (h *Handler) mayTouchOwner(r *http.Request, org string, roles ...policy.Role) error {
	for _, role := range roles {
		if role == policy.Owner {
			return h.authorize(r, policy.GrantOwner, policy.OrgResource(org))
		}
	}
	return nil
}

func (h *Handler) setRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role policy.Role `json:"role"`
	}
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if _, err := h.changeRole(r, req.Role); err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"user_id": r.PathValue("user"), "role": req.Role})
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) {
	if _, err := h.dropMember(r); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) teams(w http.ResponseWriter, r *http.Request) {
	o, err := h.org(r, policy.Read)
	if err != nil {
		fail(w, r, err)
		return
	}
	ts, err := h.Store.Teams(r.Context(), o.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"teams": ts})
}

func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request) {
	var req orgRequest
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	_, t, err := h.newTeam(r, req.Slug, req.Name)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusCreated, t)
}

// team resolves {org} and {team} and checks act on the team.
func (h *Handler) team(r *http.Request, act policy.Action) (Team, error) {
	o, err := h.org(r, policy.Read)
	if err != nil {
		return Team{}, err
	}
	t, err := h.Store.Team(r.Context(), o.ID, r.PathValue("team"))
	if err != nil {
		return Team{}, err
	}
	return t, h.authorize(r, act, policy.TeamResource(o.ID, t.ID))
}

func (h *Handler) getTeam(w http.ResponseWriter, r *http.Request) {
	t, err := h.team(r, policy.Read)
	if err != nil {
		fail(w, r, err)
		return
	}
	ms, err := h.Store.TeamMembers(r.Context(), t.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"team": t, "members": ms})
}

func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request) {
	if _, err := h.dropTeam(r); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) addTeamMember(w http.ResponseWriter, r *http.Request) {
	if _, err := h.joinTeam(r, r.PathValue("user")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) removeTeamMember(w http.ResponseWriter, r *http.Request) {
	if _, err := h.leaveTeam(r); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) invitations(w http.ResponseWriter, r *http.Request) {
	o, err := h.org(r, policy.Manage)
	if err != nil {
		fail(w, r, err)
		return
	}
	is, err := h.Store.Invitations(r.Context(), o.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"invitations": is})
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email          string      `json:"email"`
		Role           policy.Role `json:"role"`
		ExpiresInHours int         `json:"expires_in_hours,omitempty"`
	}
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	_, inv, token, err := h.newInvitation(r, req.Email, req.Role, req.ExpiresInHours)
	if err != nil {
		fail(w, r, err)
		return
	}
	// The token is shown this once; the inviter passes it on.
	web.JSON(w, http.StatusCreated, map[string]any{"invitation": inv, "token": token})
}

func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	if _, err := h.dropInvitation(r); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) accept(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if err := web.Decode(w, r, &req); err != nil {
		web.Fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	inv, err := h.acceptInvitation(r, req.Token)
	if err != nil {
		fail(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"org_id": inv.OrgID, "role": inv.Role})
}
