package mcp

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestInitGate(t *testing.T) {
	const (
		init    = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`
		call    = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"apply_changes"}}`
		refusal = `{"error":{"code":-32600,"message":"the session is not initialized: send initialize first"},"id":7,"jsonrpc":"2.0"}`
		modern  = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	)
	tests := []struct {
		name, in, wantPassed, wantRefused string
	}{
		{"call before initialize", call + "\n" + init + "\n", init + "\n", refusal + "\n"},
		{"call after initialize, before its answer", init + "\n" + call + "\n", init + "\n" + call + "\n", ""},
		{"params that are not an object", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":[1]}` + "\n", "", refusal + "\n"},
		{"ping and notifications pass", `{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n",
			`{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n", ""},
		{"not JSON is mcp-go's to answer", "garbage\n", "garbage\n", ""},
		{"a modern request needs no handshake", modern + "\n" + call + "\n", modern + "\n" + call + "\n", ""},
		{"last line without a newline", init + "\n" + call, init + "\n" + call, ""},
		{"refused last line without a newline", call, "", refusal + "\n"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			var refused bytes.Buffer
			passed, err := io.ReadAll(newInitGate(r, &refused))
			if err != nil {
				t.Fatal(err)
			}
			if string(passed) != tt.wantPassed || refused.String() != tt.wantRefused {
				t.Errorf("%s (one byte at a time: %v):\npassed  %q\nrefused %q\nwant    %q\nand     %q", tt.name, oneByte, passed, refused.String(), tt.wantPassed, tt.wantRefused)
			}
		}
	}
}
