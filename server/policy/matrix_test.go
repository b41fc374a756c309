package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/loom-agent/loom/server/auth"
)

// directory is memberships held in memory: the policy tests are about the
// rules; the accounts store's tests feed the same Authorizer from both
// database engines.
type directory map[string]Memberships

func (d directory) Memberships(_ context.Context, user string) (Memberships, error) {
	m, ok := d[user]
	if !ok {
		return Memberships{}, nil
	}
	return m, nil
}

// The cast: organisation "o" with team "t"; "p" is another organisation.
var (
	people = directory{
		"owner":    {Roles: map[string]Role{"o": Owner}},
		"admin":    {Roles: map[string]Role{"o": Admin}},
		"member":   {Roles: map[string]Role{"o": Member}},
		"teammate": {Roles: map[string]Role{"o": Member}, Teams: map[string]string{"t": "o"}},
		"outsider": {Roles: map[string]Role{"p": Owner}},
		// Left o but is still recorded in its team: the team alone grants nothing.
		"former": {Teams: map[string]string{"t": "o"}},
	}
	principals = map[string]*auth.Principal{
		"owner":    {Kind: auth.KindWeb, UserID: "owner"},
		"admin":    {Kind: auth.KindCLI, UserID: "admin"},
		"member":   {Kind: auth.KindWeb, UserID: "member"},
		"teammate": {Kind: auth.KindWeb, UserID: "teammate"},
		"outsider": {Kind: auth.KindWeb, UserID: "outsider"},
		"former":   {Kind: auth.KindWeb, UserID: "former"},
		"keyRead":  {Kind: auth.KindAPIKey, UserID: "owner", KeyID: "k1", KeyOrgID: "o", Scopes: []string{"read"}},
		"keyAll":   {Kind: auth.KindAPIKey, UserID: "owner", KeyID: "k2", KeyOrgID: "o", Scopes: []string{"read", "write", "use_model"}},
		"keyNone":  {Kind: auth.KindAPIKey, UserID: "owner", KeyID: "k3", KeyOrgID: "o"},
		"keyOther": {Kind: auth.KindAPIKey, UserID: "outsider", KeyID: "k4", KeyOrgID: "p", Scopes: []string{"read", "write", "use_model"}},
	}
	resources = map[string]Resource{
		"org":        OrgResource("o"),
		"team":       TeamResource("o", "t"),
		"memberUser": UserResource("member"),
		"apikey":     APIKeyResource("o", "k1"),
		"teamThread": ThreadResource("o", "th1", "member", "t"),
		"thread":     ThreadResource("o", "th2", "member", ""),
		"model":      ModelResource("o", "claude"),
		"run":        RunResource("o", "r1", "member"),
	}
	actions = []Action{Read, Write, Manage, GrantOwner, UseModel}
)

// allowed is the meaning of the default policies: every pair not listed
// is denied. Changing a default policy's meaning fails this test.
var allowed = map[string]string{
	"owner org":           "read write manage grant_owner",
	"owner team":          "read write manage",
	"owner apikey":        "read manage",
	"owner teamThread":    "read manage",
	"owner thread":        "read manage",
	"owner model":         "read use_model",
	"owner run":           "read manage",
	"admin org":           "read write manage",
	"admin team":          "read write manage",
	"admin apikey":        "read manage",
	"admin teamThread":    "read manage",
	"admin thread":        "read manage",
	"admin model":         "read use_model",
	"admin run":           "read manage",
	"member org":          "read",
	"member team":         "read",
	"member memberUser":   "read write",
	"member teamThread":   "read write manage",
	"member thread":       "read write manage",
	"member model":        "read use_model",
	"member run":          "read write manage",
	"teammate org":        "read",
	"teammate team":       "read",
	"teammate teamThread": "read",
	"teammate model":      "read use_model",
	"keyRead org":         "read",
	"keyRead team":        "read",
	"keyRead teamThread":  "read",
	"keyRead thread":      "read",
	"keyRead model":       "read",
	"keyRead run":         "read",
	"keyAll org":          "read",
	"keyAll team":         "read",
	"keyAll teamThread":   "read write",
	"keyAll thread":       "read write",
	"keyAll model":        "read use_model",
	"keyAll run":          "read write",
}

func TestDefaultPolicyMatrix(t *testing.T) {
	a := NewAuthorizer(people, nil)
	seen := map[string]bool{}
	for pname, p := range principals {
		for rname, r := range resources {
			key := pname + " " + rname
			want := strings.Fields(allowed[key])
			if _, ok := allowed[key]; ok {
				seen[key] = true
			}
			for _, act := range actions {
				err := a.Authorize(context.Background(), p, act, r)
				wantAllow := slices.Contains(want, string(act))
				switch {
				case wantAllow && err != nil:
					t.Errorf("%s %s %s: denied (%v), want allowed", pname, act, rname, err)
				case !wantAllow && err == nil:
					t.Errorf("%s %s %s: allowed, want denied", pname, act, rname)
				case !wantAllow && !errors.Is(err, ErrForbidden):
					t.Errorf("%s %s %s: %v, want a ForbiddenError", pname, act, rname, err)
				}
			}
		}
	}
	for key := range allowed {
		if !seen[key] {
			t.Errorf("allowed names %q, which is not in the cast", key)
		}
	}
}

func TestNobodySignedIn(t *testing.T) {
	a := NewAuthorizer(people, nil)
	for _, p := range []*auth.Principal{nil, {Kind: auth.KindWeb}} {
		if err := a.Authorize(context.Background(), p, Read, OrgResource("o")); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%+v: %v, want ErrUnauthenticated", p, err)
		}
	}
}

type failingDirectory struct{}

func (failingDirectory) Memberships(context.Context, string) (Memberships, error) {
	return Memberships{}, errors.New("database is down")
}

// A store failure is an error, never a decision either way.
func TestDirectoryFailureIsNotADecision(t *testing.T) {
	a := NewAuthorizer(failingDirectory{}, nil)
	err := a.Authorize(context.Background(), principals["owner"], Read, OrgResource("o"))
	if err == nil || errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("err = %v", err)
	}
}

// The entities the authorizer builds are what the schema declares, so a
// policy checked against the schema means what it says.
func TestEntitiesFitTheSchema(t *testing.T) {
	v := validate.New(loomSchema)
	for pname, p := range principals {
		for rname, r := range resources {
			m := types.EntityMap{}
			var who types.EntityUID
			if p.Kind == auth.KindAPIKey {
				who = apiKeyEntity(m, p.KeyID, p.KeyOrgID, p.Scopes)
			} else {
				who = userEntity(m, p.UserID, "x@example.com", people[p.UserID])
			}
			res := r.entity(m)
			for uid, e := range m {
				if err := v.Entity(e); err != nil {
					t.Errorf("%s on %s: entity %s: %v", pname, rname, uid, err)
				}
			}
			for _, act := range actions {
				req := cedar.Request{Principal: who, Action: types.NewEntityUID(actionType, types.String(act)), Resource: res, Context: types.Record{}}
				// Every request the defaults allow is one the schema declares.
				if !slices.Contains(strings.Fields(allowed[pname+" "+rname]), string(act)) {
					continue
				}
				if err := v.Request(req); err != nil {
					t.Errorf("%s %s %s: %v", pname, act, rname, err)
				}
			}
		}
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", `permit (principal, action, resource`, "policy file bad.cedar"},
		{"unknown type", `permit (principal is Loom::Usr, action, resource);`, "Loom::Usr"},
		{"unknown attribute", `permit (principal is Loom::User, action == Loom::Action::"read", resource is Loom::Org) when { principal.department == "x" };`, "department"},
		{"unknown action", `permit (principal, action == Loom::Action::"delete", resource);`, "delete"},
		{"duplicate id", "@id(\"a\")\npermit (principal, action, resource);\n@id(\"a\")\npermit (principal, action, resource);", "a second policy"},
		{"nothing permitted", `forbid (principal, action, resource);`, "permits nothing"},
		{"empty", ``, "permits nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.cedar", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load("/nonexistent/policy.cedar"); err == nil || !strings.Contains(err.Error(), "reading the policy file") {
		t.Errorf("missing file: %v", err)
	}
}

// An administrator's file replaces the defaults entirely.
func TestLoadReplacesDefaults(t *testing.T) {
	file := t.TempDir() + "/policy.cedar"
	src := `@id("read-only")
permit (principal is Loom::User, action == Loom::Action::"read", resource is Loom::Org)
when { principal in resource.members };`
	if err := writeFile(file, src); err != nil {
		t.Fatal(err)
	}
	p, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source() != file || p.Len() != 1 {
		t.Errorf("source %q, %d policies", p.Source(), p.Len())
	}
	a := NewAuthorizer(people, Default())
	ctx := context.Background()
	if err := a.Authorize(ctx, principals["owner"], Manage, OrgResource("o")); err != nil {
		t.Fatalf("defaults: owner may not manage: %v", err)
	}
	a.SetPolicies(p)
	if err := a.Authorize(ctx, principals["owner"], Manage, OrgResource("o")); !errors.Is(err, ErrForbidden) {
		t.Errorf("after loading %s: owner manage = %v, want forbidden", file, err)
	}
	if err := a.Authorize(ctx, principals["member"], Read, OrgResource("o")); err != nil {
		t.Errorf("after loading: member read = %v", err)
	}
	if got := fmt.Sprint(Default().Len()); got == "0" {
		t.Error("no default policies")
	}
}

// A key's limits are forbids: a permit an administrator adds for everyone
// does not let a key manage, act beyond its scopes, or on accounts' keys.
func TestKeyLimitsOverrideEveryPermit(t *testing.T) {
	p, err := Parse("open.cedar", []byte(DefaultText()+"\npermit (principal, action, resource);\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthorizer(people, p)
	ctx := context.Background()
	for _, tc := range []struct {
		key string
		act Action
		res Resource
	}{
		{"keyAll", Manage, OrgResource("o")},
		{"keyAll", GrantOwner, OrgResource("o")},
		{"keyAll", Manage, APIKeyResource("o", "k2")},
		{"keyRead", Write, ThreadResource("o", "th", "member", "")},
		{"keyRead", UseModel, ModelResource("o", "m")},
		{"keyNone", Read, OrgResource("o")},
	} {
		if err := a.Authorize(ctx, principals[tc.key], tc.act, tc.res); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s %s %s: %v, want forbidden", tc.key, tc.act, tc.res.Type, err)
		}
	}
	if err := a.Authorize(ctx, principals["keyAll"], Write, OrgResource("o")); err != nil {
		t.Errorf("the open permit lets nothing through: %v", err)
	}
}

// Memberships a request read already are the ones decided on: the
// directory (down here) is not asked again, and memberships held for
// another user are not taken for this one's.
func TestMembershipsHeldByTheRequest(t *testing.T) {
	a := NewAuthorizer(failingDirectory{}, nil)
	owner := principals["owner"]
	tests := []struct {
		name    string
		ctx     context.Context
		wantErr error
	}{
		{"held for the user", WithMemberships(context.Background(), owner.UserID, people["owner"]), nil},
		{"held, but no role", WithMemberships(context.Background(), owner.UserID, Memberships{}), ErrForbidden},
		{"held for someone else", WithMemberships(context.Background(), "someone", people["owner"]), errors.New("database is down")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Authorize(tc.ctx, owner, Read, OrgResource("o"))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("err = %v, want allowed", err)
			case tc.wantErr != nil && (err == nil || !errors.Is(err, tc.wantErr) && !strings.Contains(err.Error(), tc.wantErr.Error())):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
