package proxy

import (
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
// that does not exist is answered like one the user is not in.
func (p *Proxy) orgOf(r *http.Request, who *auth.Principal) (string, int, error) {
	if who == nil {
		return "", http.StatusUnauthorized, policy.ErrUnauthenticated
	}
	ctx := r.Context()
	named := r.Header.Get(OrgHeader)
	if who.Kind == auth.KindAPIKey {
		if named != "" {
			if id, err := p.orgID(ctx, named); err != nil || id != who.KeyOrgID {
				return "", http.StatusForbidden, fmt.Errorf("an API key acts for its own organisation only, not %q", named)
			}
		}
		return who.KeyOrgID, 0, nil
	}
	m, err := p.dir.Memberships(ctx, who.UserID)
	if err != nil {
		return "", 0, fmt.Errorf("finding the caller's organisations: %w", err)
	}
	if named != "" {
		id, err := p.orgID(ctx, named)
		if _, member := m.Roles[id]; err != nil || !member {
			return "", http.StatusForbidden, fmt.Errorf("you are not a member of organisation %q", named)
		}
		return id, 0, nil
	}
	switch len(m.Roles) {
	case 0:
		return "", http.StatusForbidden, errors.New("you are not a member of any organisation")
	case 1:
		for id := range m.Roles {
			return id, 0, nil
		}
	}
	return "", http.StatusBadRequest, fmt.Errorf("you belong to %d organisations: name one with the %s header (its slug or ID)", len(m.Roles), OrgHeader)
}
