package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/apikeys"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/magiclink"
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
	Proxy    *proxy.Proxy
}

// Open builds the whole team server: New, then sign-in (sessions, magic
// links, the device flow and their pages), accounts, API keys, the access
// policies, the audit log and the LLM proxy; every request is authenticated by its
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
	si, err := signin.New(s.DB, signin.Options{PublicURL: s.cfg.PublicURL, Mailer: mailer, Log: s.log})
	if err != nil {
		return nil, err
	}
	t := &Team{Server: s, SignIn: si, Accounts: accounts.New(s.DB), Keys: apikeys.New(s.DB)}
	t.Authz = policy.NewAuthorizer(t.Accounts, pols)
	if err := audit.Append(ctx, s.DB, audit.System, "", audit.PolicyLoaded, pols.Source(), fmt.Sprint(pols.Len(), " policies")); err != nil {
		return nil, fmt.Errorf("recording the policies in the audit log: %w", err)
	}
	t.Proxy, err = proxy.New(proxy.Options{Config: s.cfg.Proxy, Authz: t.Authz, Directory: t.Accounts,
		OrgID: t.Accounts.OrgID, Meter: usage.Unmetered{}, Log: s.log})
	if err != nil {
		return nil, err
	}
	s.Handle(si, t.Proxy,
		&accounts.Handler{Store: t.Accounts, Authz: t.Authz},
		&apikeys.Handler{Keys: t.Keys, Authz: t.Authz, OrgID: t.Accounts.OrgID},
		&audit.Handler{DB: s.DB, Authz: t.Authz, OrgID: t.Accounts.OrgID})
	// A session cookie (CSRF-checked on state-changing requests) or a
	// `loom login` token first, then an API key; `x-api-key` counts as a
	// bearer token.
	s.Wrap(func(h http.Handler) http.Handler {
		return auth.APIKeyHeader(si.Web.Middleware(auth.Authenticate(t.Keys)(h)))
	})
	return t, nil
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
