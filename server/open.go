package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/apikeys"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/oauth"
	"github.com/loom-agent/loom/server/auth/signin"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/proxy"
	"github.com/loom-agent/loom/server/usage"
)

// Team is the server with every component a team uses wired in: what
// `loom server` runs.
type Team struct {
	*Server
	SignIn   *signin.Service
	Accounts *accounts.Store
	Keys     *apikeys.Store
	Authz    *policy.Authorizer
	// Usage is the LLM proxy's meter: limits, budgets and usage records.
	Usage *usage.Store
	Proxy *proxy.Proxy
}

// Open builds the whole team server: New, then sign-in (sessions, magic
// links, the device flow and their pages), accounts, API keys, the access
// policies, the audit log, with their pages, the LLM proxy and its meter;
// every request is authenticated by its
// session cookie (CSRF-checked), its `loom login` token or its API key.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Team, error) {
	s, err := New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	t, err := s.assemble(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	return t, nil
}

func (s *Server) assemble(ctx context.Context) (*Team, error) {
	mailer, err := s.mailer()
	if err != nil {
		return nil, err
	}
	pols := policy.Default()
	if s.cfg.PolicyFile != "" {
		if pols, err = policy.Load(s.cfg.PolicyFile); err != nil {
			return nil, err
		}
	}
	providers, err := s.signInProviders()
	if err != nil {
		return nil, err
	}
	si, err := signin.New(s.DB, signin.Options{PublicURL: s.cfg.PublicURL, Mailer: mailer, Providers: providers, Log: s.log})
	if err != nil {
		return nil, err
	}
	t := &Team{Server: s, SignIn: si, Accounts: accounts.New(s.DB), Keys: apikeys.New(s.DB)}
	// A key's row is read at most every keyRecheck, not before every
	// model call's first byte; revoked here it is refused at once, on
	// another replica within keyRecheck.
	t.Keys.RecheckEvery = keyRecheck
	t.Authz = policy.NewAuthorizer(t.Accounts, pols)
	if err := audit.Append(ctx, s.DB, audit.System, "", audit.PolicyLoaded, pols.Source(), fmt.Sprint(pols.Len(), " policies")); err != nil {
		return nil, fmt.Errorf("recording the policies in the audit log: %w", err)
	}
	acc := &accounts.Handler{Store: t.Accounts, Authz: t.Authz}
	keys := &apikeys.Handler{Keys: t.Keys, Authz: t.Authz, OrgID: t.Accounts.OrgID}
	accPages := &accounts.Pages{Handler: acc, Web: si.Web, PublicURL: s.cfg.PublicURL}
	keyPages := &apikeys.Pages{Handler: keys, Web: si.Web, Accounts: t.Accounts}
	si.Web.AccountSections = append(si.Web.AccountSections, accPages.AccountSection, keyPages.AccountSection)
	// Its writer runs until Team.Close; the proxy meters its calls with it.
	if t.Usage, err = usage.New(s.DB, usage.Options{Limits: s.cfg.Limits, Prices: s.cfg.Prices, Log: s.log}); err != nil {
		return nil, err
	}
	t.Proxy, err = proxy.New(proxy.Options{Config: s.cfg.Proxy, Authz: t.Authz, Directory: t.Accounts,
		OrgID: t.Accounts.OrgID, Meter: t.Usage, Log: s.log})
	if err != nil {
		t.Usage.Close()
		return nil, err
	}
	s.Handle(si, t.Proxy, acc, keys, accPages, keyPages,
		&audit.Handler{DB: s.DB, Authz: t.Authz, OrgID: t.Accounts.OrgID},
		&usage.Handler{DB: s.DB, Authz: t.Authz, OrgID: t.Accounts.OrgID, Pages: si.Web})
	// A session cookie (CSRF-checked on state-changing requests) or a
	// `loom login` token first, then an API key; `x-api-key` counts as a
	// bearer token.
	s.Wrap(func(h http.Handler) http.Handler {
		return auth.APIKeyHeader(si.Web.Middleware(auth.Authenticate(t.Keys)(h)))
	})
	// A credential refused on the proxy's endpoints is answered in the
	// format of the endpoint, for the clients' SDKs.
	s.Wrap(t.Proxy.Refusals)
	return t, nil
}

// keyRecheck is how long an API key's reading is taken without reading
// its row again (SECURITY.md).
const keyRecheck = 2 * time.Second

// Close writes the usage records still queued, then closes the database.
func (t *Team) Close() error {
	if t.Usage != nil {
		t.Usage.Close()
	}
	return t.Server.Close()
}

// mailer is the configured SMTP server, or nil for none.
func (s *Server) mailer() (magiclink.Mailer, error) {
	c := s.cfg.SMTP
	if c == nil {
		return nil, nil
	}
	m := magiclink.SMTP{Addr: c.Addr, From: c.From, Username: c.Username, RequireTLS: c.RequireTLS}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("reading the SMTP password: %w", err)
		}
		m.Password = strings.TrimSpace(string(b))
	}
	return m, nil
}

// signInProviders are the configured OpenID Connect issuers, then GitHub.
func (s *Server) signInProviders() ([]*oauth.Provider, error) {
	var out []*oauth.Provider
	for _, c := range s.cfg.OIDC {
		sec, err := readSecret(c.ClientSecretFile, "oidc "+c.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, &oauth.Provider{Name: c.Name, Label: c.Label, AllowSignup: c.AllowSignup, SignupDomains: c.SignupDomains,
			Flow: oauth.OIDC(oauth.OIDCConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: sec, Scopes: c.Scopes})})
	}
	if c := s.cfg.GitHub; c != nil {
		sec, err := readSecret(c.ClientSecretFile, "github")
		if err != nil {
			return nil, err
		}
		label := c.Label
		if label == "" {
			label = "Sign in with GitHub"
		}
		out = append(out, &oauth.Provider{Name: "github", Label: label, AllowSignup: c.AllowSignup, SignupDomains: c.SignupDomains,
			Flow: oauth.GitHub(oauth.GitHubConfig{ClientID: c.ClientID, ClientSecret: sec, BaseURL: c.BaseURL, APIURL: c.APIURL})})
	}
	return out, nil
}

// readSecret reads a secret kept in a file of its own.
func readSecret(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the client secret of %s: %w", what, err)
	}
	sec := strings.TrimSpace(string(b))
	if sec == "" {
		return "", fmt.Errorf("the client secret file of %s is empty", what)
	}
	return sec, nil
}

// Bootstrap creates the first organisation and its owner on the database
// cfg names, and returns the owner's one-time sign-in link (`loom server
// admin`). It builds only what that needs: no upstream keys or sign-in
// providers are read, so it runs where the server's secrets are not.
func Bootstrap(ctx context.Context, cfg Config, log *slog.Logger, slug, name, email string) (bootstrap.Result, error) {
	s, err := New(ctx, cfg, log)
	if err != nil {
		return bootstrap.Result{}, err
	}
	defer s.Close()
	si, err := signin.New(s.DB, signin.Options{PublicURL: s.cfg.PublicURL, Log: s.log})
	if err != nil {
		return bootstrap.Result{}, err
	}
	return bootstrap.Run(ctx, s.DB, si.Links, slug, name, email)
}
