package teamserver

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
)

// Flags override the configuration file, field by field.
func TestFlagsOverConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "server.json")
	os.WriteFile(config, []byte(`{"listen": "127.0.0.1:1", "database": "a.db", "trusted_proxies": ["10.0.0.1"], "public_url": "https://loom.example"}`), 0o600)
	for _, tt := range []struct {
		name            string
		args            []string
		listen, db, url string
		proxies         []string
	}{
		{name: "file only", args: []string{"--config", config}, listen: "127.0.0.1:1", db: "a.db", url: "https://loom.example", proxies: []string{"10.0.0.1"}},
		{name: "flags win", args: []string{"--config", config, "--listen", "127.0.0.1:2", "--database", "postgres://x/y", "--trusted-proxy", "10.0.0.2,10.0.0.3"},
			listen: "127.0.0.1:2", db: "postgres://x/y", url: "https://loom.example", proxies: []string{"10.0.0.2", "10.0.0.3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			var got *ServerOptions
			cmd := NewCmdServer(f.Factory, func(o *ServerOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			cfg, err := got.Config()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != tt.listen || cfg.Database != tt.db || cfg.PublicURL != tt.url || !slices.Equal(cfg.TrustedProxies, tt.proxies) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

// `loom server admin` works on the database the server's flags name: it
// bootstraps once, prints the link on stdout, and refuses a second time.
func TestAdmin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	run := func(args ...string) (string, error) {
		f := cmdtest.New(t, "")
		cmd := NewCmdServer(f.Factory, nil)
		cmd.SetArgs(append([]string{"admin", "--database", db, "--public-url", "https://loom.example"}, args...))
		err := cmd.Execute()
		return f.Out.String(), err
	}
	if _, err := run("--org", "acme"); err == nil {
		t.Error("admin without --email ran")
	}
	out, err := run("--org", "acme", "--email", "Owner@Example.test")
	if err != nil || !strings.HasPrefix(out, "https://loom.example/signin/") {
		t.Fatalf("admin: %v, printed %q", err, out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database named by --database: %v", err)
	}
	if _, err := run("--org", "other", "--email", "x@example.test"); err == nil {
		t.Error("a second bootstrap ran")
	}
}

// TestGCPercent: the server sets its own collection target unless GOGC
// in the environment chose one.
func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		gogc string
		pct  int
		set  bool
	}{
		{gogc: "", pct: serverGCPercent, set: true},
		{gogc: "100", set: false},
		{gogc: "off", set: false},
	} {
		pct, set := gcPercent(func(k string) string {
			if k == "GOGC" {
				return tc.gogc
			}
			return ""
		})
		if pct != tc.pct || set != tc.set {
			t.Errorf("GOGC=%q: got %d, %v; want %d, %v", tc.gogc, pct, set, tc.pct, tc.set)
		}
	}
}
