package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// The tests in this file attack `loom mcp` as another local user would:
// over HTTP with raw requests, their own sessions, other credentials and a
// browser's Origin; over stdio with calls before initialize.

// pwnDiff creates pwned.txt: what an attacker would apply.
const pwnDiff = "diff --git a/pwned.txt b/pwned.txt\nnew file mode 100644\n--- /dev/null\n+++ b/pwned.txt\n@@ -0,0 +1 @@\n+pwned\n"

const (
	initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	applyBody      = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"apply_changes","arguments":{"diff":` + "%s" + `}}}`
)

// rawMCP sends one request to the server at url; headers "" are left out.
func rawMCP(t *testing.T, method, url, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func applyRequest(diff string) string {
	b, _ := json.Marshal(diff)
	return strings.Replace(applyBody, "%s", string(b), 1)
}

// TestMCPHTTPAttacks: a second client cannot use the server without the
// token, skip initialize, use a session it was not issued, use another
// client's session with another credential, use an ended session, or come
// from a web page; the owner's client, with the generated token, can.
func TestMCPHTTPAttacks(t *testing.T) {
	dir := project(t)
	h := startHTTPServer(t, mcpEnv(t, nil), io.Discard, "mcp", "--root", dir)
	if h.token == "" {
		t.Fatal("the server printed no token file")
	}
	pwned := filepath.Join(dir, "pwned.txt")
	noFile := func(t *testing.T) {
		t.Helper()
		if _, err := os.Stat(pwned); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("pwned.txt was written (stat: %v)", err)
		}
	}
	auth := "Bearer " + h.token
	legacy := mcpgo.ProtocolVersion20251125

	// The owner's client opens a session; the scheme is case-insensitive.
	code, hdr, body := rawMCP(t, "POST", h.url, initializeBody, map[string]string{"Authorization": "bearer " + h.token})
	session := hdr.Get("Mcp-Session-Id")
	if code != http.StatusOK || session == "" {
		t.Fatalf("initialize with a lower-case bearer: %d, session %q: %s", code, session, body)
	}

	tests := []struct {
		name    string
		method  string
		body    string
		headers map[string]string
		want    int
	}{
		{"no token", "POST", initializeBody, nil, http.StatusUnauthorized},
		{"wrong token", "POST", initializeBody, map[string]string{"Authorization": "Bearer " + h.token + "x"}, http.StatusUnauthorized},
		{"token in another scheme", "POST", initializeBody, map[string]string{"Authorization": "Basic " + h.token}, http.StatusUnauthorized},
		{"no token, modern protocol", "POST", applyRequest(pwnDiff), map[string]string{"Mcp-Protocol-Version": "2026-07-28"}, http.StatusUnauthorized},
		{"foreign origin", "POST", initializeBody, map[string]string{"Authorization": auth, "Origin": "https://evil.example.com"}, http.StatusForbidden},
		{"foreign origin, no token", "POST", applyRequest(pwnDiff), map[string]string{"Origin": "http://rebind.example.com:8080"}, http.StatusForbidden},
		{"apply without initialize, unissued session", "POST", applyRequest(pwnDiff),
			map[string]string{"Authorization": auth, "Mcp-Session-Id": "mcp-session-8f1c3a52-0000-4000-8000-000000000000", "Mcp-Protocol-Version": legacy}, http.StatusNotFound},
		{"apply without initialize, no session", "POST", applyRequest(pwnDiff),
			map[string]string{"Authorization": auth, "Mcp-Protocol-Version": legacy}, http.StatusBadRequest},
		{"another client's session, wrong token", "POST", applyRequest(pwnDiff),
			map[string]string{"Authorization": "Bearer guess", "Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}, http.StatusUnauthorized},
		{"another client's session, no token", "POST", applyRequest(pwnDiff),
			map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}, http.StatusUnauthorized},
		{"listen on an unissued session", "GET", "",
			map[string]string{"Authorization": auth, "Mcp-Session-Id": "made-up", "Mcp-Protocol-Version": legacy}, http.StatusNotFound},
		{"listen without a session", "GET", "", map[string]string{"Authorization": auth, "Mcp-Protocol-Version": legacy}, http.StatusBadRequest},
		{"end an unissued session", "DELETE", "",
			map[string]string{"Authorization": auth, "Mcp-Session-Id": "made-up", "Mcp-Protocol-Version": legacy}, http.StatusNotFound},
		{"end another client's session without the token", "DELETE", "",
			map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := rawMCP(t, tt.method, h.url, tt.body, tt.headers)
			if code != tt.want {
				t.Errorf("%s: status %d, want %d: %s", tt.method, code, tt.want, body)
			}
			noFile(t)
		})
	}

	// A loopback origin (a local web client such as MCP Inspector) is
	// allowed, with the token.
	if code, _, body := rawMCP(t, "POST", h.url, initializeBody, map[string]string{"Authorization": auth, "Origin": "http://localhost:6274"}); code != http.StatusOK {
		t.Errorf("initialize from a loopback origin: %d: %s", code, body)
	}

	// DELETE ends the session: using it afterwards is 404.
	owner := map[string]string{"Authorization": auth, "Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}
	if code, _, body := rawMCP(t, "POST", h.url, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, owner); code != http.StatusOK {
		t.Fatalf("tools/list on the owner's session: %d: %s", code, body)
	}
	if code, _, body := rawMCP(t, "DELETE", h.url, "", owner); code != http.StatusOK {
		t.Fatalf("DELETE of the owner's session: %d: %s", code, body)
	}
	for _, method := range []string{"POST", "GET", "DELETE"} {
		if code, _, body := rawMCP(t, method, h.url, applyRequest(pwnDiff), owner); code != http.StatusNotFound {
			t.Errorf("%s on an ended session: %d, want 404: %s", method, code, body)
		}
	}
	noFile(t)

	// The control: a session opened properly applies the same diff.
	code, hdr, body = rawMCP(t, "POST", h.url, initializeBody, map[string]string{"Authorization": auth})
	if code != http.StatusOK {
		t.Fatalf("initialize: %d: %s", code, body)
	}
	owner["Mcp-Session-Id"] = hdr.Get("Mcp-Session-Id")
	if code, _, body := rawMCP(t, "POST", h.url, applyRequest(pwnDiff), owner); code != http.StatusOK || !strings.Contains(body, "Applied to disk") {
		t.Fatalf("apply_changes on a proper session: %d: %s", code, body)
	}
	if b, err := os.ReadFile(pwned); err != nil || string(b) != "pwned\n" {
		t.Errorf("pwned.txt = %q, %v after a proper apply_changes", b, err)
	}
}

// TestMCPHTTPSessionBoundToCredential: with --no-auth the server checks no
// token, yet a session stays bound to the credential that opened it (here
// none): a client presenting another cannot use it.
func TestMCPHTTPSessionBoundToCredential(t *testing.T) {
	dir := project(t)
	h := startHTTPServer(t, mcpEnv(t, nil), io.Discard, "mcp", "--root", dir, "--no-auth")
	if h.token != "" {
		t.Fatal("--no-auth wrote a token file")
	}
	code, hdr, body := rawMCP(t, "POST", h.url, initializeBody, nil)
	session := hdr.Get("Mcp-Session-Id")
	if code != http.StatusOK || session == "" {
		t.Fatalf("initialize: %d, session %q: %s", code, session, body)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	legacy := mcpgo.ProtocolVersion20251125
	if code, _, body := rawMCP(t, "POST", h.url, list, map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}); code != http.StatusOK {
		t.Fatalf("tools/list by the session's client: %d: %s", code, body)
	}
	other := map[string]string{"Authorization": "Bearer someone-else", "Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}
	for _, tc := range []struct{ method, body string }{{"POST", applyRequest(pwnDiff)}, {"GET", ""}, {"DELETE", ""}} {
		if code, _, body := rawMCP(t, tc.method, h.url, tc.body, other); code != http.StatusNotFound {
			t.Errorf("%s with another credential: %d, want 404: %s", tc.method, code, body)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pwned.txt was written (stat: %v)", err)
	}
	// The DELETE above did not end it.
	if code, _, body := rawMCP(t, "POST", h.url, list, map[string]string{"Mcp-Session-Id": session, "Mcp-Protocol-Version": legacy}); code != http.StatusOK {
		t.Errorf("tools/list after another client's DELETE: %d: %s", code, body)
	}
}

// TestMCPHTTPTokenFile: the generated token is in a 0600 file whose path,
// never the token, is printed; the file is removed when the server stops.
func TestMCPHTTPTokenFile(t *testing.T) {
	env := mcpEnv(t, nil)
	var stderr lockedBuffer
	h := startHTTPServer(t, env, &stderr, "mcp", "--root", project(t), "--log-level", "debug")
	fi, err := os.Stat(h.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if len(h.token) < 20 {
		t.Errorf("token %q is too short", h.token)
	}
	var runtimeDir string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_RUNTIME_DIR="); ok {
			runtimeDir = v
		}
	}
	if filepath.Dir(h.tokenFile) != filepath.Join(runtimeDir, "loom") {
		t.Errorf("token file %s is not in $XDG_RUNTIME_DIR/loom", h.tokenFile)
	}
	rawMCP(t, "POST", h.url, initializeBody, map[string]string{"Authorization": "Bearer " + h.token})
	if strings.Contains(stderr.String(), h.token) {
		t.Errorf("stderr shows the token:\n%s", stderr.String())
	}

	// Stopped, the server removes its file.
	cmd := loomCommand(t, privateEnv(t, env...), "mcp", "--root", project(t), "--http", "127.0.0.1:0")
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, hangGuard, "the server to serve", func() bool { return strings.Contains(out.String(), "serving") })
	path, _, _ := strings.Cut(strings.TrimPrefix(strings.Split(out.String(), "\n")[0], "loom mcp: token file "), " ")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("token file: %v\n%s", err, out.String())
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("loom mcp after SIGINT: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the token file outlived the server (stat: %v)", err)
	}
}

// TestMCPStdioBeforeInitialize: requests before initialize are refused
// (ping excepted), even apply_changes, and LOOM_MCP_TOKEN set for some
// HTTP server does not stop the stdio server.
func TestMCPStdioBeforeInitialize(t *testing.T) {
	dir := project(t)
	early := strings.ReplaceAll(pwnDiff, "pwned.txt", "early.txt")
	cmd := loomCommand(t, privateEnv(t, append(mcpEnv(t, nil), "LOOM_MCP_TOKEN=set-for-another-server")...), "mcp", "--root", dir)
	cmd.Stdin = strings.NewReader(strings.Join([]string{
		strings.Replace(applyRequest(early), `"id":2`, `"id":1`, 1),
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"ping"}`,
		strings.Replace(initializeBody, `"id":1`, `"id":4`, 1),
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		strings.Replace(applyRequest(pwnDiff), `"id":2`, `"id":5`, 1),
	}, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("loom mcp with LOOM_MCP_TOKEN set: %v\n%s", err, stderr.String())
	}
	byID := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var msg struct{ ID json.RawMessage }
		if err := json.Unmarshal([]byte(line), &msg); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		byID[string(msg.ID)] = line
	}
	for id, want := range map[string]string{
		"1": `"code":-32600,"message":"the session is not initialized: send initialize first"`,
		"2": `"code":-32600`,
		"3": `"result":{}`,
		"4": `"serverInfo":{"name":"loom"`,
		"5": `Applied to disk`,
	} {
		if !strings.Contains(byID[id], want) {
			t.Errorf("id %s: %s, want %s", id, byID[id], want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "early.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("apply_changes before initialize wrote early.txt (stat: %v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pwned.txt")); err != nil || string(b) != "pwned\n" {
		t.Errorf("pwned.txt = %q, %v: want it written by the call after initialize", b, err)
	}
}
