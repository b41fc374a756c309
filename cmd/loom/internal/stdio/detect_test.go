package stdio

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	mcpInit = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}` + "\n"
	acpInit = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}` + "\n"
	lspInit = "Content-Length: 52\r\n\r\n" + `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`
)

// TestDetect: each kind of first message is told apart, and whatever was
// read to decide is replayed, byte for byte, before the rest of stdin,
// even when the client writes its message a byte at a time.
func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input string
		want  Protocol
		err   string
	}{
		{name: "empty", input: "", want: None},
		{name: "white space", input: " \n\r\n", want: None},
		{name: "lsp", input: lspInit, want: LSP},
		{name: "lsp, header in lower case", input: "content-length: 2\r\n\r\n{}", want: LSP},
		{name: "lsp, Content-Type first", input: "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}", want: LSP},
		{name: "mcp", input: mcpInit + `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n", want: MCP},
		{name: "acp", input: acpInit, want: ACP},
		{name: "acp, last line without a newline", input: strings.TrimSuffix(acpInit, "\n"), want: ACP},
		{name: "text", input: "add a --verbose flag to main.go\n", want: Text},
		{name: "text that starts like a header", input: "Content of the README: fix its typos", want: Text},
		{name: "text in JSON that is not JSON-RPC", input: `{"note": "rename Foo"}` + "\n", want: Text},
		{name: "a long text on one line", input: strings.Repeat("word ", 300), want: Text},
		{name: "text, not ASCII", input: "überprüfe die Tests ✓", want: Text},
		{name: "another JSON-RPC method", input: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}` + "\n", err: `JSON-RPC "tools/list", not initialize`},
		{name: "initialize without a version", input: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}` + "\n", err: "no params.protocolVersion"},
		{name: "binary", input: "\x7fELF\x02\x01\x01\x00\x00", err: "neither a protocol"},
		{name: "invalid UTF-8", input: "abc\xff\xfe def", err: "neither a protocol"},
		{name: "a line over the limit", input: `{"jsonrpc":"2.0","x":"` + strings.Repeat("a", MaxPeek) + `"}`, err: "over 1024 KiB"},
	} {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			var in io.Reader = strings.NewReader(tt.input)
			if oneByte {
				name += ", a byte at a time"
				in = iotest.OneByteReader(in)
			}
			t.Run(name, func(t *testing.T) {
				p, r, err := Detect(in)
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("Detect = %v, %v; want an error with %q", p, err, tt.err)
					}
					return
				}
				if err != nil || p != tt.want {
					t.Fatalf("Detect = %v, %v; want %v", p, err, tt.want)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, []byte(tt.input)) {
					t.Errorf("replayed %q, %v; want the input %q", got, err, tt.input)
				}
			})
		}
	}
}

// TestDetectReadsNoMoreThanItNeeds: a client waits for the answer to its
// initialize before it writes more, so Detect must decide on what has
// come, without waiting for more input.
func TestDetectReadsNoMoreThanItNeeds(t *testing.T) {
	for _, first := range []string{lspInit, mcpInit, acpInit, "fix it\n"} {
		pr, pw := io.Pipe()
		go pw.Write([]byte(first)) // and nothing more, the pipe left open
		done := make(chan Protocol, 1)
		go func() {
			p, _, _ := Detect(pr)
			done <- p
		}()
		if p := <-done; p == None {
			t.Errorf("%q: no protocol", first)
		}
		pw.Close()
	}
}

// TestReplayCloses: closing the replaying reader closes stdin, so a
// server that closes its input to stop reading does stop.
func TestReplayCloses(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte(acpInit))
	_, r, err := Detect(pr)
	if err != nil {
		t.Fatal(err)
	}
	r.(io.Closer).Close()
	io.ReadAll(io.LimitReader(r, int64(len(acpInit))))
	if _, err := r.Read(make([]byte, 1)); err != io.ErrClosedPipe {
		t.Errorf("read after Close: %v, want io.ErrClosedPipe", err)
	}
}
