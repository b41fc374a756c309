// Package signin assembles the password-less sign-in of the team server:
// sessions (server/auth/session), magic links by email
// (server/auth/magiclink), OpenID Connect issuers and GitHub
// (server/auth/oauth), the device flow for `loom login`
// (server/auth/device), and their pages (server/auth/pages). The server
// adds Service's routes and wraps its API in Service.Web.Middleware.
package signin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/auth/device"
	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/oauth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

// Options configures sign-in.
type Options struct {
	// PublicURL is the server's address as people reach it.
	PublicURL string
	// Mailer sends magic links; nil turns mailed links off.
	Mailer magiclink.Mailer
	// PerEmail and PerIP limit requests for magic links (zero: defaults).
	PerEmail, PerIP magiclink.Rate
	// Providers are the OpenID Connect issuers and GitHub people may sign
	// in with.
	Providers []*oauth.Provider
	// DeviceInterval is the device flow's polling interval (0: 5 s).
	DeviceInterval time.Duration
	Log            *slog.Logger
}

// Service is sign-in, ready to serve.
type Service struct {
	Sessions *session.Store
	Web      *session.Web
	Links    *magiclink.Links
	OAuth    *oauth.Service
	Devices  *device.Codes
	device   *device.Handlers
}

// New builds sign-in over d.
func New(d *db.DB, o Options) (*Service, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{Sessions: session.NewStore(d)}
	s.Web = session.NewWeb(s.Sessions, o.PublicURL, o.Log)
	var err error
	if s.OAuth, err = oauth.New(d, s.Web, oauth.Options{PublicURL: o.PublicURL, Providers: o.Providers, Log: o.Log}); err != nil {
		return nil, err
	}
	links, err := magiclink.New(d, s.Web, magiclink.Options{PublicURL: o.PublicURL, Mailer: o.Mailer, PerEmail: o.PerEmail, PerIP: o.PerIP, Log: o.Log,
		Providers: s.OAuth.Buttons()})
	if err != nil {
		return nil, err
	}
	s.Links = links
	s.Devices = device.NewCodes(d, s.Sessions, o.DeviceInterval)
	s.device = device.NewHandlers(s.Devices, s.Web, o.PublicURL, o.Log)
	return s, nil
}

// Routes adds every sign-in route and page.
func (s *Service) Routes(mux *http.ServeMux) {
	pages.Routes{}.Routes(mux)
	s.Web.Routes(mux)
	s.Links.Routes(mux)
	s.OAuth.Routes(mux)
	s.device.Routes(mux)
}
