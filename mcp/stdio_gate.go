package mcp

import (
	"bytes"
	"encoding/json"
	"io"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// initGate stands between stdin and mcp-go's stdio server and refuses the
// requests read before initialize, as the MCP lifecycle requires: without
// it any tool, even apply_changes, could be called by a client that never
// said who it is. ping and server/discover pass, and so do the requests of
// the sessionless 2026-07-28 protocol, which carry their version in _meta
// instead of a handshake (mcp-go then counts the session as initialized).
//
// It goes by the order of the stream, not by when initialize has been
// answered: mcp-go serves requests concurrently, and a client may send
// initialize and its first calls in one go. A refused request never
// reaches mcp-go; the gate answers it with -32600 itself. Once initialize
// is read, input passes through untouched.
type initGate struct {
	r       io.Reader
	out     io.Writer // where refusals are written, shared with mcp-go
	open    bool      // initialize (or a modern request) was read
	ready   []byte    // input to hand on
	partial []byte    // the start of a line not read to its end yet
	err     error     // from r, returned once ready is empty
}

func newInitGate(r io.Reader, out io.Writer) *initGate { return &initGate{r: r, out: out} }

func (g *initGate) Read(p []byte) (int, error) {
	for len(g.ready) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		if g.open {
			return g.r.Read(p)
		}
		n, err := g.r.Read(p)
		g.take(p[:n])
		if err != nil {
			if !g.open && len(g.partial) > 0 { // a last line without a newline
				line := g.partial
				g.partial = nil
				g.admit(line)
			}
			g.err = err
		}
	}
	n := copy(p, g.ready)
	g.ready = g.ready[n:]
	return n, nil
}

// take splits data into lines and admits each until the gate opens; what
// follows then passes as it is.
func (g *initGate) take(data []byte) {
	g.partial = append(g.partial, data...)
	for !g.open {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			return
		}
		line := g.partial[:i+1]
		g.partial = g.partial[i+1:]
		g.admit(line)
	}
	g.ready = append(g.ready, g.partial...)
	g.partial = nil
}

// admit hands a line on, or answers it with a refusal.
func (g *initGate) admit(line []byte) {
	msg, ok := peekMessage(line)
	switch {
	case !ok || !msg.isRequest():
		// Not a request: mcp-go answers it (a parse error), or nothing does.
	case msg.Method == mcpgo.MethodInitialize || msg.Modern:
		g.open = true
	case msg.Method == mcpgo.MethodPing || msg.Method == mcpgo.MethodServerDiscover:
	default:
		refusal, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": msg.ID,
			"error": map[string]any{"code": mcpgo.INVALID_REQUEST, "message": "the session is not initialized: send initialize first"}})
		g.out.Write(append(refusal, '\n'))
		return
	}
	g.ready = append(g.ready, line...)
}
