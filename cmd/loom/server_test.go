package main

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

// TestServerProcess: `loom server` starts on either database, says where it
// listens, answers health and readiness, and stops cleanly on SIGTERM.
func TestServerProcess(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			env := privateEnv(t)
			args := []string{"server", "--listen", "127.0.0.1:0"}
			if engine == db.Postgres {
				args = append(args, "--database", dbtest.URL(t, engine))
			} // SQLite: the default place under XDG_DATA_HOME
			cmd := loomCommand(t, env, args...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cmd.Process.Kill()
			}()
			lines := bufio.NewScanner(stderr)
			var url string
			re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+) \(database: (\w+)\)`)
			for lines.Scan() {
				if m := re.FindStringSubmatch(lines.Text()); m != nil {
					url = m[1]
					if m[2] != string(engine) {
						t.Errorf("database %s, want %s", m[2], engine)
					}
					break
				}
			}
			if url == "" {
				t.Fatalf("the server never said where it listens (%v)", lines.Err())
			}
			go io.Copy(io.Discard, stderr)
			for _, path := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(url + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d %s", path, resp.StatusCode, b)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM: %v, want exit 0", err)
				}
			case <-time.After(30 * time.Second): // hang guard
				t.Fatal("the server did not stop on SIGTERM")
			}
			if engine == db.SQLite {
				if _, err := http.Get(url + "/healthz"); err == nil || !strings.Contains(err.Error(), "refused") {
					t.Errorf("still answering after exit: %v", err)
				}
			}
		})
	}
}

func TestServerRefusesBadConfiguration(t *testing.T) {
	for name, args := range map[string][]string{
		"certificate without key": {"server", "--tls-cert", "c.pem"},
		"bad proxy":               {"server", "--trusted-proxy", "nowhere"},
		"missing config file":     {"server", "--config", "/nonexistent/loom.json"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := loomCommand(t, privateEnv(t), args...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("started: %s", out)
			}
		})
	}
}
