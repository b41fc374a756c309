package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
)

// OrgHeader names the organisation a signed-in user's call is for (its
// slug or ID), the one whose models, policies and budgets apply.
const OrgHeader = "Loom-Org"

// orgOf is the organisation a call acts for: an API key's own (a Loom-Org
// header naming another is refused); for a user, the one Loom-Org names,
// which they must belong to, or else the only one they belong to. A user
// of several organisations who names none is asked to. An organisation
// that does not exist is answered like one the user is not in. A user's
// memberships, read here, ride on the context returned, so the decisions
// that follow in the same request do not read them again.
func (p *Proxy) orgOf(r *http.Request, who *auth.Principal) (context.Context, string, int, error) {
	ctx := r.Context()
	if who == nil {
		return ctx, "", http.StatusUnauthorized, policy.ErrUnauthenticated
	}
	named := r.Header.Get(OrgHeader)
	if who.Kind == auth.KindAPIKey {
		if named != "" {
			if id, err := p.orgID(ctx, named); err != nil || id != who.KeyOrgID {
				return ctx, "", http.StatusForbidden, fmt.Errorf("an API key acts for its own organisation only, not %q", named)
			}
		}
		return ctx, who.KeyOrgID, 0, nil
	}
	m, err := p.dir.Memberships(ctx, who.UserID)
	if err != nil {
		return ctx, "", 0, fmt.Errorf("finding the caller's organisations: %w", err)
	}
	ctx = policy.WithMemberships(ctx, who.UserID, m)
	if named != "" {
		id, err := p.orgID(ctx, named)
		if _, member := m.Roles[id]; err != nil || !member {
			return ctx, "", http.StatusForbidden, fmt.Errorf("you are not a member of organisation %q", named)
		}
		return ctx, id, 0, nil
	}
	switch len(m.Roles) {
	case 0:
		return ctx, "", http.StatusForbidden, errors.New("you are not a member of any organisation")
	case 1:
		for id := range m.Roles {
			return ctx, id, 0, nil
		}
	}
	return ctx, "", http.StatusBadRequest, fmt.Errorf("you belong to %d organisations: name one with the %s header (its slug or ID)", len(m.Roles), OrgHeader)
}
