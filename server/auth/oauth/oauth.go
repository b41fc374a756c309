// Package oauth signs people in to the team server with their account
// elsewhere: any OpenID Connect issuer by configuration (Google is one),
// and GitHub (an OAuth app, then GitHub's user API).
//
// Both use the authorization code flow with PKCE (S256). Starting a
// sign-in (GET /signin/oauth/NAME, a link on the sign-in page) stores a row keyed
// by the SHA-256 of the state parameter (table oauth_states) and gives the
// browser a short-lived cookie holding a random binding secret. The
// callback (GET /signin/oauth/NAME/callback) uses that row up once, within
// StateTTL, and only in the browser that holds the cookie: a callback URL
// handed to someone else signs nobody in (login CSRF). The PKCE verifier
// and the OpenID nonce are HMACs of the state under the binding secret, so
// neither is stored and a copy of the database finishes no sign-in. The
// provider's tokens are used once, to learn who signed in, and dropped.
//
// An ID token must be signed by the issuer's keys, name the configured
// issuer and this server's client ID, be unexpired and carry the nonce of
// this browser's sign-in. Who it then signs in is decided by Link, the
// rule a team tool needs:
//
//   - an identity (provider and subject) linked before signs in as its
//     user, whatever email the provider shows now;
//   - otherwise the provider must vouch for the email address (OpenID's
//     email_verified, GitHub's primary verified address), and an existing
//     user with that address gets the identity linked;
//   - with no such user, a waiting invitation to that address, or the
//     provider's allow_signup (limited to its signup_domains when listed),
//     creates the user;
//   - anything else is refused, and the refusal goes to the audit log.
//
// Disabled users are refused at every step. Sign-ins, new users, linked
// identities and refusals are written to the audit log (organisation "").
package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/ratelimit"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

// Identity is who a provider says signed in.
type Identity struct {
	// Provider and Subject name the account at the provider: the issuer's
	// URL or "github", and its stable ID there (OpenID's sub, GitHub's
	// numeric user ID). Together they are the key of table identities.
	Provider, Subject string
	// Email is the address the provider shows, EmailVerified whether it
	// vouches that the person controls it.
	Email         string
	EmailVerified bool
	Name          string
}

// Flow is how one kind of provider signs someone in: OIDC or GitHub.
type Flow interface {
	// authURL is where to send the browser.
	authURL(ctx context.Context, redirect, state, nonce, verifier string) (string, error)
	// identify exchanges the code and returns who signed in.
	identify(ctx context.Context, redirect, code, nonce, verifier string) (Identity, error)
	// method names the flow in the audit log ("oidc", "github").
	method() string
}

// Provider is one configured way to sign in elsewhere.
type Provider struct {
	// Name is the provider's name in its URLs (/signin/oauth/NAME) and in
	// the audit log: lower-case letters, digits and hyphens.
	Name string
	// Label is its button's text ("Sign in with Google").
	Label string
	// AllowSignup lets someone with no account and no invitation create
	// an account by signing in here, if the provider vouches for their
	// email and, when SignupDomains is not empty, its domain is listed.
	AllowSignup   bool
	SignupDomains []string
	Flow          Flow

	redirect string
}

// method is what the audit log says of a sign-in here: "oidc:NAME", or
// "github".
func (p *Provider) method() string {
	if m := p.Flow.method(); m != p.Name {
		return m + ":" + p.Name
	}
	return p.Name
}

// CallbackPath is where provider name sends the browser back to; register
// PublicURL + CallbackPath(name) with the provider.
func CallbackPath(name string) string { return "/signin/oauth/" + name + "/callback" }

var namePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)

// ValidName checks a provider's name.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("provider name %q: use 1 to 32 lower-case letters, digits and inner hyphens", name)
	}
	return nil
}

// Rate is a token bucket: Burst at once, one more each Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// Options configures sign-in elsewhere.
type Options struct {
	// PublicURL is the server's address as browsers reach it; callbacks
	// are registered under it.
	PublicURL string
	Providers []*Provider
	// PerIP limits how often one client may start sign-ins (zero: 20 at
	// once, then one every 10 s).
	PerIP Rate
	Log   *slog.Logger
}

// maxKeys bounds the rate limiter's table.
const maxKeys = 10000

// Service serves sign-in through the configured providers.
type Service struct {
	db        *db.DB
	web       *session.Web
	log       *slog.Logger
	providers map[string]*Provider
	buttons   []pages.Provider
	byIP      *ratelimit.Limiter
}

// New returns sign-in through o.Providers over d, signing browsers in
// through wb.
func New(d *db.DB, wb *session.Web, o Options) (*Service, error) {
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sign-in providers need the server's public URL, got %q", o.PublicURL)
	}
	if o.PerIP == (Rate{}) {
		o.PerIP = Rate{Every: 10 * time.Second, Burst: 20}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: d, web: wb, log: o.Log, providers: map[string]*Provider{},
		byIP: ratelimit.New(o.PerIP.Every, o.PerIP.Burst, maxKeys)}
	for _, p := range o.Providers {
		if err := ValidName(p.Name); err != nil {
			return nil, err
		}
		if s.providers[p.Name] != nil {
			return nil, fmt.Errorf("two sign-in providers are named %q", p.Name)
		}
		if p.Flow == nil {
			return nil, fmt.Errorf("sign-in provider %q has no flow", p.Name)
		}
		if p.Label == "" {
			p.Label = "Sign in with " + p.Name
		}
		for i, dom := range p.SignupDomains {
			p.SignupDomains[i] = strings.ToLower(strings.TrimPrefix(dom, "@"))
		}
		p.redirect = strings.TrimSuffix(o.PublicURL, "/") + CallbackPath(p.Name)
		s.providers[p.Name] = p
		s.buttons = append(s.buttons, pages.Provider{Name: p.Name, Label: p.Label})
	}
	return s, nil
}

// Buttons are the sign-in page's buttons, one per provider, in the
// configured order.
func (s *Service) Buttons() []pages.Provider { return s.buttons }

// httpClient is what talks to providers when the configuration gives no
// client: bounded, so a provider that hangs fails the sign-in, not the
// server.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 15 * time.Second}
}
