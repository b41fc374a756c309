package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The stream tests drive `loom acp`, `loom mcp` and `loom lsp` with hostile
// input: a message that is not JSON, one over the size limit, a flood of
// notifications. Each is answered with a JSON-RPC error and the server
// goes on: the next request is answered and the process still runs.

// rpcMessage is what the tests read of a server's message.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// rpcProc is a protocol server running as a subprocess: send writes to its
// stdin, next waits for its next message other than a notification.
type rpcProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	msgs   chan rpcMessage
	stderr *lockedBuffer
	exited chan error    // the exit, for the one who waits for it
	done   chan struct{} // closed on exit, for everyone
}

// startRPC starts loom with args; framed selects LSP's Content-Length
// framing for reading its output, else one message per line.
func startRPC(t *testing.T, framed bool, env []string, args ...string) *rpcProc {
	t.Helper()
	p := &rpcProc{t: t, cmd: loomCommand(t, append(privateEnv(t), env...), args...), msgs: make(chan rpcMessage, 64), stderr: &lockedBuffer{}, exited: make(chan error, 1), done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.msgs)
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			body, err := readMessage(r, framed)
			if err != nil {
				return
			}
			var m rpcMessage
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("stdout holds a non-protocol message %.200q", body)
				return
			}
			p.msgs <- m
		}
	}()
	go func() {
		p.exited <- p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
		}
	})
	return p
}

func readMessage(r *bufio.Reader, framed bool) ([]byte, error) {
	if !framed {
		return r.ReadBytes('\n')
	}
	n := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			fmt.Sscanf(v, "%d", &n)
		}
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}

func (p *rpcProc) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s); err != nil {
		p.t.Fatalf("writing to the server: %v (it exited?)\nstderr: %s", err, p.stderr.String())
	}
}

// next returns the server's next answer, skipping its notifications and
// requests.
func (p *rpcProc) next() rpcMessage {
	p.t.Helper()
	timeout := time.After(30 * time.Second) // a hang guard only
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				p.t.Fatalf("the server closed its output; stderr:\n%.2000s", p.stderr.String())
			}
			if m.Method == "" {
				return m
			}
		case <-timeout:
			p.t.Fatalf("no answer; stderr:\n%.2000s", p.stderr.String())
		}
	}
}

// expectError waits for an error answer with code and id.
func (p *rpcProc) expectError(code int, id string) {
	p.t.Helper()
	m := p.next()
	if m.Error == nil || m.Error.Code != code || string(m.ID) != id {
		p.t.Fatalf("got %s %+v, want error %d with id %s", m.ID, m.Error, code, id)
	}
}

// expectResult waits for a successful answer to id.
func (p *rpcProc) expectResult(id string) {
	p.t.Helper()
	m := p.next()
	if m.Error != nil || string(m.ID) != id || m.Result == nil {
		p.t.Fatalf("got %s %+v, want the result of %s", m.ID, m.Error, id)
	}
}

// running fails the test if the process has exited.
func (p *rpcProc) running() {
	p.t.Helper()
	select {
	case err := <-p.exited:
		p.t.Fatalf("the server exited (%v); stderr:\n%.2000s", err, p.stderr.String())
	default:
	}
}

// padded returns a line-delimited message of exactly size bytes (newline
// excluded) by padding it with a string member: format holds one %s.
func padded(format string, size int) string {
	pad := size - len(fmt.Sprintf(format, ""))
	return fmt.Sprintf(format, strings.Repeat("x", pad))
}

// secret marks the bodies of bad messages: no log may repeat it.
const secret = "SECRET-BODY-7f3a"

func acpEnv(t *testing.T) []string {
	return []string{"LOOM_MODEL=", "LOOM_API_KEY=", "OPENAI_API_KEY=", "LOOM_LOG=debug",
		"XDG_CONFIG_HOME=" + t.TempDir(), "LOOM_DB=" + filepath.Join(t.TempDir(), "threads.db")}
}

const acpInitialize = `{"jsonrpc":"2.0","id":%s,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}` + "\n"

// TestACPBadMessages: `loom acp` answers a line that is not JSON with
// -32700, one over its limit (the SDK's 10 MiB) with -32600, and goes on;
// a line of exactly the limit is served. No log holds a bad body.
func TestACPBadMessages(t *testing.T) {
	p := startRPC(t, false, acpEnv(t), "acp")
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize",` + secret + "\n")
	p.expectError(-32700, "null")
	p.send(fmt.Sprintf(acpInitialize, "2"))
	p.expectResult("2")

	const limit = 10<<20 - 1
	big := `{"jsonrpc":"2.0","id":%s,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{},"_meta":{"pad":"%s"}}}`
	p.send(padded(fmt.Sprintf(big, "3", "%s"), limit+1) + "\n")
	p.expectError(-32600, "null")
	p.send(padded(fmt.Sprintf(big, "4", "%s"), limit) + "\n")
	p.expectResult("4")
	p.send(padded(fmt.Sprintf(big, "5", secret+"%s"), 64<<20) + "\n")
	p.expectError(-32600, "null")
	p.send(fmt.Sprintf(acpInitialize, "6"))
	p.expectResult("6")
	p.running()
	if strings.Contains(p.stderr.String(), secret) {
		t.Errorf("the log repeats a bad message's body:\n%.2000s", p.stderr.String())
	}
}

// TestACPNotificationFlood: thousands of notifications sent at once (the
// SDK queues 1,024 and used to end the connection beyond) are all taken,
// and the next request is answered.
func TestACPNotificationFlood(t *testing.T) {
	p := startRPC(t, false, acpEnv(t), "acp")
	p.send(fmt.Sprintf(acpInitialize, "1"))
	p.expectResult("1")
	// A _meta of many members makes each slower to handle than to read.
	var meta strings.Builder
	for i := range 200 {
		fmt.Fprintf(&meta, `"k%d":{"a":[%d,2,3]},`, i, i)
	}
	cancel := `{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"none","_meta":{` + meta.String() + `"end":1}}}` + "\n"
	var flood strings.Builder
	for range 5000 {
		flood.WriteString(cancel)
	}
	go io.WriteString(p.stdin, flood.String()+fmt.Sprintf(acpInitialize, "2"))
	p.expectResult("2")
	p.running()
}

const mcpInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}` + "\n" +
	`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"

// TestMCPBadMessages: `loom mcp` on stdio answers a line that is not JSON
// with -32700 and one over its limit (64 MiB) with -32600, without reading
// it whole, takes a flood of notifications, and goes on.
func TestMCPBadMessages(t *testing.T) {
	p := startRPC(t, false, mcpEnv(t, nil), "mcp", "--root", project(t), "--log-level", "debug")
	p.send(mcpInitialize)
	p.expectResult("1")
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/list",` + secret + "\n")
	p.expectError(-32700, "null")
	p.send(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}` + "\n")
	p.expectResult("3")

	p.send(padded(`{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"pad":"`+secret+`%s"}}}`, 64<<20+1) + "\n")
	p.expectError(-32600, "null")
	p.send(`{"jsonrpc":"2.0","id":5,"method":"tools/list"}` + "\n")
	p.expectResult("5")

	flood := strings.Repeat(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`+"\n", 5000)
	go io.WriteString(p.stdin, flood+`{"jsonrpc":"2.0","id":6,"method":"tools/list"}`+"\n")
	p.expectResult("6")
	p.running()
	if strings.Contains(p.stderr.String(), secret) {
		t.Errorf("the log repeats a bad message's body:\n%.2000s", p.stderr.String())
	}
}

// lspFrame frames body with the LSP base protocol's header.
func lspFrame(body string) string {
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

// TestLSPBadMessages: `loom lsp` answers a well-framed body that is not
// JSON with -32700, one that is not a JSON-RPC message, a body over its
// limit (64 MiB, skipped unread) and malformed headers with -32600, and
// goes on; errors of its handlers carry JSON-RPC codes (never 0).
func TestLSPBadMessages(t *testing.T) {
	p, symbols := startRawLSP(t)

	p.send(lspFrame(`{"jsonrpc":"2.0","id":2,"method":"shutdown",` + secret))
	p.expectError(-32700, "null")
	p.send(symbols(3, "main.go"))
	p.expectResult("3")

	p.send(lspFrame(`[{"jsonrpc":"2.0","id":4,"method":"shutdown"}]`))
	p.expectError(-32600, "null")
	p.send(lspFrame(`{"jsonrpc":"2.0","id":5,"method":"shutdown","result":1}`))
	p.expectError(-32600, "5")
	p.send("Content-Length: 0\r\n\r\n")
	p.expectError(-32700, "null")

	const limit = 64 << 20
	p.send(fmt.Sprintf("Content-Length: %d\r\n\r\n", limit+1))
	p.send(padded(`{"jsonrpc":"2.0","id":6,"method":"shutdown","params":{"pad":"`+secret+`%s"}}`, limit+1))
	p.expectError(-32600, "null")
	p.send(symbols(7, "greet.go"))
	p.expectResult("7")

	// A header line without a colon: the body is skipped by its length.
	p.send("Content-Length: 2\r\nnonsense\r\n\r\n{}")
	p.expectError(-32600, "null")
	// No Content-Length: the reader finds the next header.
	p.send("Content-Lenght: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"x\"}")
	p.expectError(-32600, "null")
	p.send(symbols(9, "main.go"))
	p.expectResult("9")

	p.running()
	if strings.Contains(p.stderr.String(), secret) {
		t.Errorf("the log repeats a bad message's body:\n%.2000s", p.stderr.String())
	}
	p.send(lspFrame(`{"jsonrpc":"2.0","id":12,"method":"shutdown"}`))
	p.expectResult("12")
	p.send(lspFrame(`{"jsonrpc":"2.0","method":"exit"}`))
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("after shutdown and exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit")
	}
}

// startRawLSP starts `loom lsp` on a project, initialized, for tests that
// write its frames by hand; symbols frames a documentSymbol request.
func startRawLSP(t *testing.T) (p *rpcProc, symbols func(id int, file string) string) {
	dir := project(t)
	env := []string{"LOOM_MODEL=", "LOOM_LOG=debug", "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(),
		"LOOM_DB=" + filepath.Join(t.TempDir(), "threads.db")}
	p = startRPC(t, true, env, "lsp")
	p.send(lspFrame(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootUri":"file://%s","capabilities":{}}}`, dir)))
	p.expectResult("1")
	p.send(lspFrame(`{"jsonrpc":"2.0","method":"initialized","params":{}}`))
	return p, func(id int, file string) string {
		return lspFrame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"textDocument/documentSymbol","params":{"textDocument":{"uri":"file://%s"}}}`, id, filepath.Join(dir, file)))
	}
}

// TestLSPErrorCodes: the errors of the server's handlers carry JSON-RPC
// codes, never 0: a document that does not exist or an action that is not
// Loom's is InvalidParams, parameters of the wrong shape too.
func TestLSPErrorCodes(t *testing.T) {
	p, symbols := startRawLSP(t)
	tests := []struct {
		request string
		code    int
	}{
		{symbols(2, "missing.go"), -32602},
		{lspFrame(`{"jsonrpc":"2.0","id":2,"method":"codeAction/resolve","params":{"title":"x","data":{"action":"nope"}}}`), -32602},
		{lspFrame(`{"jsonrpc":"2.0","id":2,"method":"codeAction/resolve","params":{"title":"x","data":[1]}}`), -32602},
		{lspFrame(`{"jsonrpc":"2.0","id":2,"method":"textDocument/documentSymbol","params":{"textDocument":7}}`), -32602},
		{lspFrame(`{"jsonrpc":"2.0","id":2,"method":"textDocument/definition","params":{"textDocument":{"uri":"file:///nowhere/x.go"},"position":{"line":0,"character":0}}}`), -32602},
	}
	for _, tt := range tests {
		p.send(tt.request)
		p.expectError(tt.code, "2")
	}
	p.running()
}
