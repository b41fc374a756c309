package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/proxy"
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
	// Proxy configures the LLM proxy: its upstreams and models.
	Proxy proxy.Config `json:"proxy"`
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
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(30 * time.Second)
	}
	return c, nil
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
