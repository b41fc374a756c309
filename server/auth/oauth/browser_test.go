package oauth_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
)

// A person signs in through the real OpenID provider in headless Chromium
// (Debian's, driven by playwright-core): the sign-in page's button, the
// provider's login and consent pages, back to the account page they had
// asked for, with an HttpOnly, SameSite=Lax session cookie and no
// leftover sign-in cookie.
func TestOIDCInChromium(t *testing.T) {
	suite, err := filepath.Abs("../../../test/e2e/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run test/install.sh")
	}
	h := newHarness(t, db.SQLite, true, nil)
	h.user("ada@example.test")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "oidc.mjs")
	node.Dir = suite
	node.Env = append(os.Environ(), "HOME="+t.TempDir(), "LOOM_SERVER="+h.URL, "PROVIDER=op", "LOGIN=ada", "EMAIL=ada@example.test")
	out, err := node.CombinedOutput()
	if err != nil {
		t.Fatalf("the browser did not sign in: %v\n%s", err, out)
	}
	if s := h.events(audit.SignedIn); len(s) != 1 || !strings.Contains(s[0].Detail, "method=oidc:op") {
		t.Fatalf("sign-ins audited: %+v\n%s", s, out)
	}
}
