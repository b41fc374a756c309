package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/auth/oauth"
	"github.com/loom-agent/loom/server/proxy"
	"github.com/loom-agent/loom/server/usage"
)

// DefaultListen is where a server started without flags listens: loopback
// only, so nothing is exposed until someone chooses to.
const DefaultListen = "127.0.0.1:7433"

// Config is the server's configuration: a JSON file (--config), then flags.
type Config struct {
	// Listen is the address to listen on.
	Listen string `json:"listen"`
	// PublicURL is the address people and clients reach the server at, as
	// written into links (sign-in emails, the device flow's page). Default:
	// http(s)://Listen.
	PublicURL string `json:"public_url"`
	// Database is postgres://… or a SQLite file path. Default:
	// $XDG_DATA_HOME/loom/server.db.
	Database string `json:"database"`
	// TLSCert and TLSKey serve HTTPS directly.
	TLSCert string `json:"tls_cert"`
	TLSKey  string `json:"tls_key"`
	// TrustedProxies are the addresses (or CIDR prefixes) of reverse proxies
	// whose X-Forwarded-For and X-Forwarded-Proto headers are believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// MetricsTokenFile holds the bearer token /metrics requires. Without one,
	// /metrics answers only clients on loopback.
	MetricsTokenFile string `json:"metrics_token_file"`
	// ShutdownGrace is how long requests in flight may take to finish.
	ShutdownGrace Duration `json:"shutdown_grace"`
	// PolicyFile replaces the default access policies (Cedar); it is
	// checked against Loom's schema at start.
	PolicyFile string `json:"policy_file"`
	// SMTP sends sign-in links by email; without it, links are made only
	// by `loom server admin`.
	SMTP *SMTPConfig `json:"smtp"`
	// OIDC lists the OpenID Connect issuers people may sign in with
	// (Google, Okta, Keycloak, …), each a button on the sign-in page.
	OIDC []OIDCConfig `json:"oidc"`
	// GitHub lets people sign in with GitHub through an OAuth app.
	GitHub *GitHubConfig `json:"github"`
	// Limits are the LLM proxy's limits and budgets per API key, user and
	// team; Prices the per-model price table budgets are counted in.
	Limits usage.Limits `json:"limits"`
	Prices usage.Prices `json:"prices"`
	// Proxy configures the LLM proxy: its upstreams and models.
	Proxy proxy.Config `json:"proxy"`
}

// OIDCConfig is one OpenID Connect issuer. Register
// PUBLIC_URL/signin/oauth/NAME/callback as its redirect URI.
type OIDCConfig struct {
	// Name is the issuer's name in URLs and the audit log: lower-case
	// letters, digits and hyphens ("google").
	Name string `json:"name"`
	// Label is its button's text; default "Sign in with NAME".
	Label string `json:"label"`
	// Issuer is the issuer's URL as its discovery document names it
	// ("https://accounts.google.com").
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecretFile holds the client secret, kept out of the configuration.
	ClientSecretFile string `json:"client_secret_file"`
	// Scopes default to openid, email and profile.
	Scopes []string `json:"scopes"`
	SignupRule
}

// GitHubConfig is a GitHub OAuth app. Register
// PUBLIC_URL/signin/oauth/github/callback as its callback URL.
type GitHubConfig struct {
	Label            string `json:"label"`
	ClientID         string `json:"client_id"`
	ClientSecretFile string `json:"client_secret_file"`
	// BaseURL is a GitHub Enterprise Server's address ("" for github.com);
	// APIURL its REST API (default BaseURL/api/v3, or api.github.com).
	BaseURL string `json:"base_url"`
	APIURL  string `json:"api_url"`
	SignupRule
}

// SignupRule says who may get an account by signing in at a provider.
// Someone with an account, or invited by email, always may (if the
// provider vouches for their email); anyone else only when AllowSignup is
// set and, if SignupDomains lists any, their email's domain is one of them.
type SignupRule struct {
	AllowSignup   bool     `json:"allow_signup"`
	SignupDomains []string `json:"signup_domains"`
}

// SMTPConfig is the mail server sign-in links go out through.
type SMTPConfig struct {
	// Addr is host:port.
	Addr string `json:"addr"`
	// From is the sender: "Loom <loom@example.com>" or a bare address.
	From     string `json:"from"`
	Username string `json:"username"`
	// PasswordFile holds the password, kept out of the configuration.
	PasswordFile string `json:"password_file"`
	// RequireTLS refuses a mail server that does not offer STARTTLS.
	RequireTLS bool `json:"require_tls"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads a configuration file; "" gives the defaults.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("reading the configuration: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// withDefaults fills what the configuration leaves out and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, errors.New("TLS needs both a certificate and a key (--tls-cert, --tls-key)")
	}
	if c.Database == "" {
		dir, err := dataDir()
		if err != nil {
			return c, err
		}
		c.Database = filepath.Join(dir, "loom", "server.db")
	}
	if c.PublicURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + c.Listen
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("public URL %q: want http(s)://host[:port]", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.SMTP != nil {
		if _, _, err := net.SplitHostPort(c.SMTP.Addr); err != nil {
			return c, fmt.Errorf("smtp.addr %q: %w", c.SMTP.Addr, err)
		}
		if c.SMTP.From == "" {
			return c, errors.New("smtp.from: the sender address is missing")
		}
	}
	if err := c.checkProviders(); err != nil {
		return c, err
	}
	if err := c.Limits.Check(); err != nil {
		return c, err
	}
	if err := c.Prices.Check(); err != nil {
		return c, err
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(30 * time.Second)
	}
	return c, nil
}

// checkProviders checks the sign-in providers' configuration.
func (c Config) checkProviders() error {
	seen := map[string]bool{}
	for i, o := range c.OIDC {
		what := fmt.Sprintf("oidc[%d] (%s)", i, o.Name)
		if err := oauth.ValidName(o.Name); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if o.Name == "github" || seen[o.Name] {
			return fmt.Errorf("%s: the name is taken", what)
		}
		seen[o.Name] = true
		if err := providerURL(o.Issuer); err != nil {
			return fmt.Errorf("%s.issuer: %w", what, err)
		}
		if err := o.check(o.ClientID, o.ClientSecretFile); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if g := c.GitHub; g != nil {
		for _, u := range []string{g.BaseURL, g.APIURL} {
			if u == "" {
				continue
			}
			if err := providerURL(u); err != nil {
				return fmt.Errorf("github: %w", err)
			}
		}
		if err := g.check(g.ClientID, g.ClientSecretFile); err != nil {
			return fmt.Errorf("github: %w", err)
		}
	}
	return nil
}

func (r SignupRule) check(clientID, secretFile string) error {
	if clientID == "" || secretFile == "" {
		return errors.New("client_id and client_secret_file are required")
	}
	for _, d := range r.SignupDomains {
		if d == "" || strings.ContainsAny(d, "@/ ") || d != strings.ToLower(d) {
			return fmt.Errorf("signup_domains: %q is not a lower-case domain name", d)
		}
	}
	return nil
}

// providerURL checks the address of a sign-in provider: HTTPS, or plain
// HTTP on loopback only (a provider started for tests or development).
func providerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip, err := netip.ParseAddr(u.Hostname()); u.Scheme == "http" && (u.Hostname() == "localhost" || err == nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%q: a sign-in provider must be reached over HTTPS", s)
}

func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home folder for the database; pass --database: %w", err)
	}
	return filepath.Join(home, ".local", "share"), nil
}
