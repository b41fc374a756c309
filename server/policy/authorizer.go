package policy

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/loom-agent/loom/server/auth"
)

// Action is what a principal asks to do.
type Action string

// The actions of schema.cedarschema.
const (
	Read       Action = "read"
	Write      Action = "write"
	Manage     Action = "manage"
	GrantOwner Action = "grant_owner"
	UseModel   Action = "use_model"
)

// Role is a person's role in an organisation.
type Role string

// The roles, each with every right of the next.
const (
	Owner  Role = "owner"
	Admin  Role = "admin"
	Member Role = "member"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == Owner || r == Admin || r == Member }

// Memberships is what a user is part of.
type Memberships struct {
	// Roles maps an organisation's ID to the user's role in it.
	Roles map[string]Role
	// Teams maps a team's ID to its organisation's ID.
	Teams map[string]string
}

// Directory finds a user's memberships; the accounts store is one.
type Directory interface {
	Memberships(ctx context.Context, userID string) (Memberships, error)
}

type membershipsKey struct{}

type heldMemberships struct {
	userID string
	m      Memberships
}

// WithMemberships returns ctx carrying userID's memberships, read already
// for this request, so that deciding within it does not read them again
// (a request is short: what it read at its start is what it acts on).
func WithMemberships(ctx context.Context, userID string, m Memberships) context.Context {
	return context.WithValue(ctx, membershipsKey{}, heldMemberships{userID, m})
}

func knownMemberships(ctx context.Context, userID string) (Memberships, bool) {
	h, ok := ctx.Value(membershipsKey{}).(heldMemberships)
	if !ok || h.userID != userID {
		return Memberships{}, false
	}
	return h.m, true
}

// ErrUnauthenticated is the answer to a request nobody signed.
var ErrUnauthenticated = errors.New("sign in first")

// ErrHidden is a denial answered as "not found": the principal may not
// even read the organisation, whose existence is then none of its business.
var ErrHidden = errors.New("not found")

// ErrForbidden matches every ForbiddenError.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is a denial: no policy permits the action, or one forbids it.
type ForbiddenError struct {
	Action   Action
	Resource Resource
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("forbidden: you may not %s %s %q", e.Action, e.Resource.Type, e.Resource.ID)
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Authorizer answers whether a principal may act on a resource.
type Authorizer struct {
	dir      Directory
	policies atomic.Pointer[Policies]
}

// NewAuthorizer returns an authorizer deciding by p (Default() when nil)
// with memberships from dir.
func NewAuthorizer(dir Directory, p *Policies) *Authorizer {
	if p == nil {
		p = Default()
	}
	a := &Authorizer{dir: dir}
	a.policies.Store(p)
	return a
}

// Policies returns the policies in force.
func (a *Authorizer) Policies() *Policies { return a.policies.Load() }

// SetPolicies replaces the policies in force; requests already deciding
// finish with the old ones.
func (a *Authorizer) SetPolicies(p *Policies) { a.policies.Store(p) }

// Authorize returns nil when principal may do action on r;
// ErrUnauthenticated when principal is nil; a *ForbiddenError when the
// policies deny it; or the error finding the principal's memberships.
func (a *Authorizer) Authorize(ctx context.Context, principal *auth.Principal, action Action, r Resource) error {
	if principal == nil {
		return ErrUnauthenticated
	}
	entities := make(types.EntityMap, 8)
	var who types.EntityUID
	switch principal.Kind {
	case auth.KindAPIKey:
		who = apiKeyEntity(entities, principal.KeyID, principal.KeyOrgID, principal.Scopes)
	default:
		if principal.UserID == "" {
			return ErrUnauthenticated
		}
		m, ok := knownMemberships(ctx, principal.UserID)
		if !ok {
			var err error
			if m, err = a.dir.Memberships(ctx, principal.UserID); err != nil {
				return fmt.Errorf("finding %s's memberships: %w", principal.UserID, err)
			}
		}
		who = userEntity(entities, principal.UserID, principal.Email, m)
	}
	req := cedar.Request{
		Principal: who,
		Action:    types.NewEntityUID(actionType, types.String(action)),
		Resource:  r.entity(entities),
		Context:   types.Record{},
	}
	if decision, _ := cedar.Authorize(a.policies.Load().set, entities, req); decision != cedar.Allow {
		return &ForbiddenError{Action: action, Resource: r}
	}
	return nil
}

// AuthorizeInOrg is Authorize for a resource of an organisation, except
// that a denial to a principal who may not read that organisation is
// ErrHidden: outsiders cannot tell its slug from a free one.
func (a *Authorizer) AuthorizeInOrg(ctx context.Context, principal *auth.Principal, action Action, r Resource) error {
	err := a.Authorize(ctx, principal, action, r)
	if !errors.Is(err, ErrForbidden) {
		return err
	}
	org := OrgResource(r.Org)
	if action == Read && r.Type == orgType {
		return ErrHidden
	}
	if a.Authorize(ctx, principal, Read, org) != nil {
		return ErrHidden
	}
	return err
}
