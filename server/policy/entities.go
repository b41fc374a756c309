package policy

import (
	"github.com/cedar-policy/cedar-go/types"
)

// The entity types of schema.cedarschema.
const (
	actionType types.EntityType = "Loom::Action"
	roleType   types.EntityType = "Loom::Role"
	orgType    types.EntityType = "Loom::Org"
	teamType   types.EntityType = "Loom::Team"
	userType   types.EntityType = "Loom::User"
	apiKeyType types.EntityType = "Loom::ApiKey"
	threadType types.EntityType = "Loom::Thread"
	modelType  types.EntityType = "Loom::Model"
	runType    types.EntityType = "Loom::Run"
)

// Resource is what an action is asked on, with the facts policies read.
// Build one with OrgResource, TeamResource and the others.
type Resource struct {
	Type  types.EntityType
	ID    string
	Org   string // the organisation it belongs to
	Owner string // the user who owns it (threads, runs)
	Team  string // the team it is shared with (threads), if any
}

// OrgResource is an organisation.
func OrgResource(id string) Resource { return Resource{Type: orgType, ID: id, Org: id} }

// TeamResource is a team of org.
func TeamResource(org, id string) Resource { return Resource{Type: teamType, ID: id, Org: org} }

// UserResource is a person's account.
func UserResource(id string) Resource { return Resource{Type: userType, ID: id} }

// APIKeyResource is an API key of org.
func APIKeyResource(org, id string) Resource { return Resource{Type: apiKeyType, ID: id, Org: org} }

// ThreadResource is a thread of org owned by owner, shared with team ("" for none).
func ThreadResource(org, id, owner, team string) Resource {
	return Resource{Type: threadType, ID: id, Org: org, Owner: owner, Team: team}
}

// ModelResource is a model as org calls it.
func ModelResource(org, name string) Resource { return Resource{Type: modelType, ID: name, Org: org} }

// RunResource is a remote run of org started by owner.
func RunResource(org, id, owner string) Resource {
	return Resource{Type: runType, ID: id, Org: org, Owner: owner}
}

func uid(t types.EntityType, id string) types.EntityUID {
	return types.NewEntityUID(t, types.String(id))
}

func roleUID(org string, r Role) types.EntityUID { return uid(roleType, org+"/"+string(r)) }

// orgEntity adds an organisation and its three roles (owner in admin in
// member), which depend on its ID alone.
func orgEntity(m types.EntityMap, org string) types.EntityUID {
	o := uid(orgType, org)
	if _, ok := m[o]; ok {
		return o
	}
	owners, admins, members := roleUID(org, Owner), roleUID(org, Admin), roleUID(org, Member)
	m[o] = types.Entity{UID: o, Attributes: types.NewRecord(types.RecordMap{
		"owners": owners, "admins": admins, "members": members,
	})}
	m[owners] = types.Entity{UID: owners, Parents: types.NewEntityUIDSet(admins)}
	m[admins] = types.Entity{UID: admins, Parents: types.NewEntityUIDSet(members)}
	m[members] = types.Entity{UID: members}
	return o
}

func userEntity(m types.EntityMap, id, email string, ms Memberships) types.EntityUID {
	u := uid(userType, id)
	parents := make([]types.EntityUID, 0, len(ms.Roles)+len(ms.Teams))
	for org, role := range ms.Roles {
		if !role.Valid() {
			continue
		}
		orgEntity(m, org)
		parents = append(parents, roleUID(org, role))
	}
	for team, org := range ms.Teams {
		parents = append(parents, teamEntity(m, org, team))
	}
	m[u] = types.Entity{
		UID:        u,
		Parents:    types.NewEntityUIDSet(parents...),
		Attributes: types.NewRecord(types.RecordMap{"email": types.String(email)}),
	}
	return u
}

func teamEntity(m types.EntityMap, org, team string) types.EntityUID {
	t := uid(teamType, team)
	if _, ok := m[t]; !ok {
		m[t] = types.Entity{UID: t, Attributes: types.NewRecord(types.RecordMap{"org": orgEntity(m, org)})}
	}
	return t
}

func apiKeyEntity(m types.EntityMap, id, org string, scopes []string) types.EntityUID {
	k := uid(apiKeyType, id)
	vals := make([]types.Value, len(scopes))
	for i, s := range scopes {
		vals[i] = types.String(s)
	}
	m[k] = types.Entity{UID: k, Attributes: types.NewRecord(types.RecordMap{
		"org": orgEntity(m, org), "scopes": types.NewSet(vals...),
	})}
	return k
}

// entity adds r (and what it refers to) to m and returns its UID.
func (r Resource) entity(m types.EntityMap) types.EntityUID {
	switch r.Type {
	case orgType:
		return orgEntity(m, r.ID)
	case teamType:
		return teamEntity(m, r.Org, r.ID)
	case userType:
		u := uid(userType, r.ID)
		if _, ok := m[u]; !ok {
			m[u] = types.Entity{UID: u, Attributes: types.NewRecord(types.RecordMap{"email": types.String("")})}
		}
		return u
	}
	u := uid(r.Type, r.ID)
	attrs := types.RecordMap{"org": orgEntity(m, r.Org)}
	if r.Type == threadType || r.Type == runType {
		owner := uid(userType, r.Owner)
		attrs["owner"] = owner
		if _, ok := m[owner]; !ok {
			m[owner] = types.Entity{UID: owner, Attributes: types.NewRecord(types.RecordMap{"email": types.String("")})}
		}
		if r.Type == threadType && r.Team != "" {
			attrs["team"] = teamEntity(m, r.Org, r.Team)
		}
	}
	if r.Type == apiKeyType {
		attrs["scopes"] = types.NewSet()
	}
	m[u] = types.Entity{UID: u, Attributes: types.NewRecord(attrs)}
	return u
}
