package accounts

import (
	"fmt"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
)

// The changes below are the JSON API's and the pages' alike, so the two
// cannot drift apart: each reads {org} (and {team}, {user}, {id}) from the
// request's path, asks the authorizer, then calls the store. They return
// the organisation once it was resolved and allowed, for the caller's
// answer.

// changeRole gives {user} role in {org}: admins, and only owners when the
// change makes or unmakes an owner.
func (h *Handler) changeRole(r *http.Request, role policy.Role) (Org, error) {
	o, err := h.org(r, policy.Manage)
	if err != nil {
		return Org{}, err
	}
	user := r.PathValue("user")
	old, err := h.Store.Role(r.Context(), o.ID, user)
	if err == nil {
		err = h.mayTouchOwner(r, o.ID, old, role)
	}
	if err == nil {
		err = h.Store.SetRole(r.Context(), audit.ActorOf(r), o.ID, user, role)
	}
	return o, err
}

// dropMember takes {user} out of {org}: admins (owners for owners), or
// the user themselves.
func (h *Handler) dropMember(r *http.Request) (Org, error) {
	user := r.PathValue("user")
	p := auth.From(r.Context())
	leaving := p != nil && p.Kind != auth.KindAPIKey && p.UserID == user
	act := policy.Manage
	if leaving {
		act = policy.Read // members may leave what they may see
	}
	o, err := h.org(r, act)
	if err != nil {
		return Org{}, err
	}
	old, err := h.Store.Role(r.Context(), o.ID, user)
	if err == nil && !leaving {
		err = h.mayTouchOwner(r, o.ID, old)
	}
	if err == nil {
		err = h.Store.RemoveMember(r.Context(), audit.ActorOf(r), o.ID, user)
	}
	return o, err
}

// newTeam adds a team to {org}: admins.
func (h *Handler) newTeam(r *http.Request, slug, name string) (Org, Team, error) {
	o, err := h.org(r, policy.Manage)
	if err != nil {
		return Org{}, Team{}, err
	}
	t, err := h.Store.CreateTeam(r.Context(), audit.ActorOf(r), o.ID, slug, name)
	return o, t, err
}

// dropTeam deletes {team}: those who may manage it.
func (h *Handler) dropTeam(r *http.Request) (Team, error) {
	t, err := h.team(r, policy.Manage)
	if err == nil {
		err = h.Store.DeleteTeam(r.Context(), audit.ActorOf(r), t.OrgID, t.ID)
	}
	return t, err
}

// joinTeam puts user in {team}: those who may write to it.
func (h *Handler) joinTeam(r *http.Request, user string) (Team, error) {
	t, err := h.team(r, policy.Write)
	if err == nil {
		err = h.Store.AddTeamMember(r.Context(), audit.ActorOf(r), t.OrgID, t.ID, user)
	}
	return t, err
}

// leaveTeam takes {user} out of {team}: those who may write to it.
func (h *Handler) leaveTeam(r *http.Request) (Team, error) {
	t, err := h.team(r, policy.Write)
	if err == nil {
		err = h.Store.RemoveTeamMember(r.Context(), audit.ActorOf(r), t.OrgID, t.ID, r.PathValue("user"))
	}
	return t, err
}

// newInvitation invites email to {org} with role for hours (0: the
// default): admins, and only owners invite owners. The token is returned
// this once.
func (h *Handler) newInvitation(r *http.Request, email string, role policy.Role, hours int) (Org, Invitation, string, error) {
	o, err := h.org(r, policy.Manage)
	if err != nil {
		return Org{}, Invitation{}, "", err
	}
	if err := h.mayTouchOwner(r, o.ID, role); err != nil {
		return o, Invitation{}, "", err
	}
	if hours < 0 || hours > int(MaxInvitationTTL/time.Hour) {
		return o, Invitation{}, "", fmt.Errorf("%w expiry: expires_in_hours must be from 1 to %d", ErrInvalid, int(MaxInvitationTTL/time.Hour))
	}
	inv, token, err := h.Store.Invite(r.Context(), audit.ActorOf(r), o.ID, email, role, time.Duration(hours)*time.Hour)
	return o, inv, token, err
}

// dropInvitation revokes {org}'s waiting invitation {id}: admins.
func (h *Handler) dropInvitation(r *http.Request) (Org, error) {
	o, err := h.org(r, policy.Manage)
	if err == nil {
		err = h.Store.RevokeInvitation(r.Context(), audit.ActorOf(r), o.ID, r.PathValue("id"))
	}
	return o, err
}

// acceptInvitation makes the signed-in person a member as token's
// invitation says, if it was sent to their address.
func (h *Handler) acceptInvitation(r *http.Request, token string) (Invitation, error) {
	u, err := h.self(r, policy.Write)
	if err != nil {
		return Invitation{}, err
	}
	return h.Store.AcceptInvitation(r.Context(), audit.ActorOf(r), token, u)
}
