// Package mailtest starts a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit), on free loopback ports, with its HTTP API
// to read back what was sent. test/install.sh installs the binary into
// ${XDG_CACHE_HOME:-~/.cache}/loom-test/bin; LOOM_MAILPIT names another.
package mailtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Version is the mailpit the tests are written against.
const Version = "v1.33.1"

// Mailpit is a running mailpit.
type Mailpit struct {
	// SMTP is host:port of its SMTP server; API is its HTTP base URL.
	SMTP, API string
}

// Binary returns the path of the mailpit binary.
func Binary() (string, error) {
	if p := os.Getenv("LOOM_MAILPIT"); p != "" {
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "loom-test", "bin", "mailpit")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no mailpit at %s: run test/install.sh (go install github.com/axllent/mailpit@%s)", p, Version)
	}
	return p, nil
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// Start starts a mailpit that stops when the test ends.
func Start(t testing.TB) *Mailpit {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &Mailpit{SMTP: "127.0.0.1:" + freePort(t)}
	m.API = "http://127.0.0.1:" + freePort(t)
	cmd := exec.Command(bin, "--smtp", m.SMTP, "--listen", m.API[len("http://"):], "--database", filepath.Join(dir, "mail.db"),
		"--disable-version-check", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "-q")
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.API + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("mailpit exited:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("mailpit did not become ready in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Message is a received mail.
type Message struct {
	ID      string
	Subject string
	Text    string
}

// Messages returns the mails sent to addr, newest first.
func (m *Mailpit) Messages(t testing.TB, addr string) []Message {
	t.Helper()
	var list struct {
		Messages []struct{ ID, Subject string } `json:"messages"`
	}
	m.get(t, "/api/v1/search?query="+url.QueryEscape("to:"+addr), &list)
	var out []Message
	for _, x := range list.Messages {
		var full struct{ Text string }
		m.get(t, "/api/v1/message/"+x.ID, &full)
		out = append(out, Message{ID: x.ID, Subject: x.Subject, Text: full.Text})
	}
	return out
}

// Wait waits until n mails have reached addr and returns them, newest
// first.
func (m *Mailpit) Wait(t testing.TB, addr string, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got := m.Messages(t, addr); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d mails to %s within 30 s", n, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var linkRE = regexp.MustCompile(`https?://\S+/signin/magic\?token=\S+`)

// Link returns the sign-in link in a mail.
func Link(t testing.TB, msg Message) string {
	t.Helper()
	l := linkRE.FindString(msg.Text)
	if l == "" {
		t.Fatalf("no sign-in link in the mail:\n%s", msg.Text)
	}
	return l
}

func (m *Mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
}
