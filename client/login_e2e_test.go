package client_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/mailtest"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/signin"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var codeRE = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)

// `loom login` end to end: the client package runs the device flow
// against the real server on loopback; headless Chromium signs in through
// the magic link mailpit received and approves the code; the token lands
// in a 0600 file; whoami and logout use it, and after logout the server
// refuses it.
func TestLoginApprovedInBrowser(t *testing.T) {
	suite, err := filepath.Abs("../test/e2e/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run test/install.sh")
	}
	mp := mailtest.Start(t)
	var handler http.Handler = http.NotFoundHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer ts.Close()
	srv, err := server.New(context.Background(), server.Config{Database: dbtest.URL(t, db.SQLite), PublicURL: ts.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	svc, err := signin.New(srv.DB, signin.Options{PublicURL: ts.URL, Mailer: magiclink.SMTP{Addr: mp.SMTP, From: "loom@example.test"}, DeviceInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Links.Wait()
	srv.Handle(svc)
	handler = srv.Handler()
	const email = "ada@example.test"
	if _, err := srv.DB.Exec(`INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, secret.ID(), email, db.Now()); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := client.Options{Server: ts.URL, ConfigDir: filepath.Join(t.TempDir(), "loom")}
	out, printed := io.Pipe()
	opts.Out = printed
	type result struct {
		id  *client.Identity
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := client.Login(ctx, opts)
		printed.Close()
		done <- result{id, err}
	}()
	var code string
	sc := bufio.NewScanner(out)
	for code == "" && sc.Scan() {
		if m := codeRE.FindStringSubmatch(sc.Text()); m != nil {
			code = m[1]
		}
	}
	if code == "" {
		t.Fatalf("login printed no code: %v", (<-done).err)
	}
	go io.Copy(io.Discard, out)

	node := exec.CommandContext(ctx, "node", "approve.mjs")
	node.Dir = suite
	node.Env = append(os.Environ(), "HOME="+t.TempDir(), "LOOM_SERVER="+ts.URL, "MAILPIT_API="+mp.API, "EMAIL="+email, "USER_CODE="+code)
	if b, err := node.CombinedOutput(); err != nil {
		cancel()
		t.Fatalf("the browser did not approve: %v\n%s", err, b)
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("login: %v", res.err)
	}
	if res.id.Email != email || res.id.Kind != "cli" {
		t.Fatalf("signed in as %+v", res.id)
	}
	path, _ := client.CredentialsPath(opts)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, st.Mode())
	}
	who, err := client.WhoAmI(ctx, client.Options{ConfigDir: opts.ConfigDir})
	if err != nil || who.Email != email || who.Server != ts.URL {
		t.Fatalf("whoami: %+v, %v", who, err)
	}
	saved, _ := os.ReadFile(path)
	if err := client.Logout(ctx, client.Options{ConfigDir: opts.ConfigDir}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the credentials file is still there after logout: %v", err)
	}
	// The token logout forgot is dead on the server too.
	os.WriteFile(path, saved, 0o600)
	if _, err := client.WhoAmI(ctx, client.Options{ConfigDir: opts.ConfigDir}); err == nil {
		t.Fatal("the logged-out token still works")
	}
}
