// Package policy decides who may do what on the team server: one
// Authorizer, asked by every handler, over Cedar policies
// (github.com/cedar-policy/cedar-go).
//
// The entities and actions policies speak of are declared in
// schema.cedarschema, in the Loom namespace: principals are a User (in the
// organisation roles it holds and the teams it is in) or an ApiKey (its
// organisation and scopes); resources are an Org, Team, User, ApiKey,
// Thread, Model or Run; actions are read, write, manage, grant_owner and
// use_model. The default policies (default.cedar) ship in the binary; Load
// replaces them with an administrator's file, checked against the schema,
// so a file naming an entity, attribute or action Loom does not have is an
// error when the server starts rather than a rule that never matches.
//
// Entities are built per request: the principal's memberships come from a
// Directory (one query), and the resource's facts (its organisation, owner,
// team) from the handler, which has just loaded it.
package policy

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	expast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

//go:embed default.cedar
var defaultPolicies []byte

//go:embed schema.cedarschema
var schemaText []byte

// The schema is Loom's own: an error in it is a bug caught by any test.
var loomSchema = func() *resolved.Schema {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar(schemaText); err != nil {
		panic("policy: parsing schema.cedarschema: " + err.Error())
	}
	r, err := s.Resolve()
	if err != nil {
		panic("policy: resolving schema.cedarschema: " + err.Error())
	}
	return r
}()

// Policies is a set of Cedar policies checked against Loom's schema.
type Policies struct {
	set    *cedar.PolicySet
	source string
	count  int
}

// Source names where the policies came from: "default" or a file's path.
func (p *Policies) Source() string { return p.source }

// Len is the number of policies.
func (p *Policies) Len() int { return p.count }

// Default returns the policies that ship with Loom.
func Default() *Policies {
	p, err := Parse("default", defaultPolicies)
	if err != nil {
		panic("policy: default.cedar: " + err.Error())
	}
	return p
}

// Load reads an administrator's policy file, which replaces the defaults.
// A file that does not parse, names what the schema does not declare, or
// has no permit at all is an error naming the file and the policy.
func Load(file string) (*Policies, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the policy file: %w", err)
	}
	return Parse(file, src)
}

// Parse parses and checks policies; name says where they came from. A
// policy's ID is its @id annotation, else "policyN" by its position.
func Parse(name string, src []byte) (*Policies, error) {
	list, err := cedar.NewPolicyListFromBytes(name, src)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", name, err)
	}
	v := validate.New(loomSchema)
	set := cedar.NewPolicySet()
	permits := 0
	var errs []error
	for i, pol := range list {
		id := fmt.Sprintf("policy%d", i)
		if a, ok := pol.Annotations()["id"]; ok {
			id = string(a)
		}
		pos := pol.Position()
		where := fmt.Sprintf("%s:%d:%d: policy %q", name, pos.Line, pos.Column, id)
		if !set.Add(cedar.PolicyID(id), pol) {
			errs = append(errs, fmt.Errorf("%s: a second policy with this @id", where))
			continue
		}
		if err := v.Policy(id, (*expast.Policy)(pol.AST())); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if pol.Effect() == types.Permit {
			permits++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("policy file %s does not fit Loom's schema:\n%w", name, err)
	}
	if permits == 0 {
		// Cedar denies by default: such a file would lock everyone out.
		return nil, fmt.Errorf("policy file %s permits nothing", name)
	}
	return &Policies{set: set, source: name, count: len(list)}, nil
}

// Schema returns the Cedar schema policies are checked against, for
// administrators writing their own.
func Schema() string { return strings.TrimSpace(string(schemaText)) + "\n" }

// DefaultText returns the default policies, a starting point for an
// administrator's file.
func DefaultText() string { return string(defaultPolicies) }
