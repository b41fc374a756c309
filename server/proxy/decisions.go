package proxy

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/policy"
)

// mayUse asks Cedar whether who may use model in org. An API key's
// answers are remembered: Cedar sees nothing of a key but its ID, its
// organisation and its scopes, nor of a model but its name and
// organisation, so with the policies in force those decide the answer and
// a remembered one can never be stale (revocation and expiry are the
// authentication's business, on every request). A person's answer also
// depends on their memberships, read at every decision.
func (p *Proxy) mayUse(ctx context.Context, who *auth.Principal, org, model string) error {
	if who == nil || who.Kind != auth.KindAPIKey {
		return p.authz.Authorize(ctx, who, policy.UseModel, policy.ModelResource(org, model))
	}
	k := decisionKey{pols: p.authz.Policies(), key: who.KeyID, org: who.KeyOrgID, scopes: strings.Join(who.Scopes, " "), inOrg: org, model: model}
	if err, ok := p.decisions.get(k); ok {
		return err
	}
	err := p.authz.Authorize(ctx, who, policy.UseModel, policy.ModelResource(org, model))
	if err == nil || errors.Is(err, policy.ErrForbidden) {
		p.decisions.put(k, err)
	}
	return err
}

type decisionKey struct {
	pols                           *policy.Policies
	key, org, scopes, inOrg, model string
}

// maxDecisions bounds the decisions remembered; past it they are all
// forgotten (the next of each is one evaluation away).
const maxDecisions = 10000

type decisionCache struct {
	mu sync.Mutex
	m  map[decisionKey]error
}

func (c *decisionCache) get(k decisionKey) (error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err, ok := c.m[k]
	return err, ok
}

func (c *decisionCache) put(k decisionKey, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxDecisions {
		c.m = make(map[decisionKey]error)
	}
	c.m[k] = err
}
