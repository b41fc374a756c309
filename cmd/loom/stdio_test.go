package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// lspFrames frames each message as LSP does.
func lspFrames(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(m), m)
	}
	return b.String()
}

// readLSPFrames reads the messages of an LSP stream.
func readLSPFrames(t *testing.T, out []byte) []string {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	var msgs []string
	for {
		h, err := r.ReadMIMEHeader()
		if err == io.EOF && len(h) == 0 {
			return msgs
		}
		n, cerr := strconv.Atoi(h.Get("Content-Length"))
		if cerr != nil {
			t.Fatalf("stdout is not LSP frames (%v, %v):\n%s", err, cerr, out)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r.R, body); err != nil {
			t.Fatalf("a frame cut short: %v", err)
		}
		msgs = append(msgs, string(body))
	}
}

// TestBareLoomOnStdin: `loom` alone, started by a client on pipes, serves
// what the client speaks: LSP, MCP and ACP initialize get their servers'
// answers; text is an instruction, as with `loom run -`; the flags of the
// command chosen apply (--root); input that is none of these is refused
// with one line, exit 2, and nothing on stdout.
func TestBareLoomOnStdin(t *testing.T) {
	dir := project(t)
	s, err := llmtest.ParseScript([]byte(`{"turns":[{"text":"Done."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	mcpInit := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`
	for _, tt := range []struct {
		name string
		args []string
		// input is written a message at a time, each once stdout has
		// grown since the last (a client waits for initialize's answer).
		input  []string
		lsp    bool     // stdout is LSP frames, else lines
		code   int      // the exit code
		want   []string // in stdout's messages, by id, as JSON text
		errOut string   // in stderr
	}{
		{name: "lsp", lsp: true, input: []string{
			lspFrames(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{}}}`),
			lspFrames(`{"jsonrpc":"2.0","method":"initialized","params":{}}`, `{"jsonrpc":"2.0","id":2,"method":"shutdown"}`),
			lspFrames(`{"jsonrpc":"2.0","method":"exit"}`)},
			want: []string{`"serverInfo":{"name":"loom"`, `"id":2`}},
		{name: "mcp, with --root", args: []string{"--root", dir}, input: []string{mcpInit + "\n",
			`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
				`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"greet.go"}}}` + "\n"},
			want: []string{`"protocolVersion":"2025-06-18"`, `"serverInfo":{"name":"loom"`, `func greeting() string`}},
		{name: "acp", input: []string{`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}` + "\n"},
			want: []string{`"protocolVersion":1`, `"agentInfo":{"name":"loom"`}},
		{name: "text, with --root", args: []string{"--root", dir}, input: []string{"say done\n"}, errOut: "model: Done.\n"},
		{name: "binary", input: []string{"\x00\x01\x02garbage"}, code: exitUsage, errOut: "loom: stdin is neither a protocol (LSP, MCP, ACP) nor text"},
		{name: "another method first", input: []string{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}` + "\n"}, code: exitUsage,
			errOut: `loom: the first message on stdin is JSON-RPC "tools/list", not initialize`},
		{name: "a flag the command lacks", args: []string{"--nope"}, input: []string{"say done\n"}, code: exitUsage, errOut: "loom: unknown flag: --nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := loomCommandContext(t, ctx, modelEnv(t, srv), tt.args...)
			cmd.Dir = t.TempDir() // not the project: --root names it
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr lockedBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i, m := range tt.input {
				n := len(stdout.String())
				io.WriteString(stdin, m)
				if i < len(tt.input)-1 {
					waitFor(t, 30*time.Second, "an answer", func() bool { return len(stdout.String()) > n })
				}
			}
			stdin.Close()
			err = cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(stderr.String(), tt.errOut) {
				t.Fatalf("loom %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, stdout.String(), stderr.String())
			}
			var msgs []string
			if tt.lsp {
				msgs = readLSPFrames(t, []byte(stdout.String()))
			} else if len(tt.want) > 0 {
				msgs = strings.Split(strings.TrimSpace(stdout.String()), "\n")
			}
			for _, m := range msgs {
				if !json.Valid([]byte(m)) {
					t.Errorf("stdout holds a message that is not JSON: %q", m)
				}
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no answer holds %s:\n%s\nstderr:\n%s", w, all, stderr.String())
				}
			}
			if len(tt.want) == 0 && tt.code != 0 && stdout.String() != "" {
				t.Errorf("stdout of a refused input: %q", stdout.String())
			}
		})
	}
}

// TestBareLoomSignalledBeforeInput: a bare loom still waiting for its
// client's first message ends on SIGTERM as on Ctrl-C, rather than waiting
// for input that may never come.
func TestBareLoomSignalledBeforeInput(t *testing.T) {
	cmd := loomCommand(t, privateEnv(t))
	stdin, err := cmd.StdinPipe() // open, and nothing written
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // into the wait for input
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("loom still waits for input after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitCancelled || !strings.Contains(stderr.String(), "loom: cancelled") {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitCancelled, stderr.String())
	}
}
