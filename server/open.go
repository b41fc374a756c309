package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/signin"
)

// Team is the server with every component a team uses wired in: what
// `loom server` runs.
type Team struct {
	*Server
	SignIn *signin.Service
}

// Open builds the whole team server: New, then sign-in (sessions, magic
// links, the device flow and their pages).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Team, error) {
	s, err := New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	mailer, err := s.mailer()
	if err != nil {
		s.Close()
		return nil, err
	}
	si, err := signin.New(s.DB, signin.Options{PublicURL: s.cfg.PublicURL, Mailer: mailer, Log: s.log})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Handle(si)
	return &Team{Server: s, SignIn: si}, nil
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
