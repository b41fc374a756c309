// Package stdio tells which protocol a client speaks on stdin from its
// first message, so a bare `loom` started by an editor, an assistant or a
// shell pipe serves what the client expects: LSP's Content-Length framing,
// an MCP or ACP initialize request (newline-delimited JSON-RPC, told apart
// by the type of params.protocolVersion), or plain text, an instruction.
//
// The bytes read to decide are replayed: Detect returns a reader that gives
// them back before the rest of stdin, so the chosen server reads the input
// from its first byte.
package stdio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Protocol is what a client speaks on stdin.
type Protocol int

// The protocols Detect tells apart.
const (
	// None: stdin ended before anything but white space came.
	None Protocol = iota
	// LSP: a header block ("Content-Length: N\r\n\r\n") before each message.
	LSP
	// MCP: an initialize request whose params.protocolVersion is a string
	// (a date, "2025-06-18").
	MCP
	// ACP: an initialize request whose params.protocolVersion is a number.
	ACP
	// Text: anything else that is text, an instruction for `loom run -`.
	Text
)

func (p Protocol) String() string {
	switch p {
	case LSP:
		return "lsp"
	case MCP:
		return "mcp"
	case ACP:
		return "acp"
	case Text:
		return "text"
	}
	return "none"
}

// MaxPeek bounds what Detect reads before it decides: the first line of a
// JSON-RPC client, its initialize request, must fit.
const MaxPeek = 1 << 20

// headers are the LSP header fields a message may start with, in lower case.
var headers = []string{"content-length:", "content-type:"}

// Detect reads the start of in until it can tell the protocol, at most
// MaxPeek bytes, and returns it with a reader that replays what was read
// before the rest of in. The reader closes in when in can be closed. It
// waits for no more than the first message, or for text the first line,
// 512 bytes or the end of stdin, whichever comes first. Input
// that is no protocol and not text (NUL bytes, invalid UTF-8), a JSON-RPC
// message other than initialize, and a first line over MaxPeek are errors.
func Detect(in io.Reader) (Protocol, io.Reader, error) {
	var buf []byte
	chunk := make([]byte, 32<<10)
	newline := false // buf holds a line feed
	for {
		p, done, err := decide(buf, newline)
		if done || err != nil {
			return p, replay(buf, in), err
		}
		if len(buf) >= MaxPeek {
			return None, nil, fmt.Errorf("the first line on stdin is over %d KiB: not an MCP or ACP initialize request", MaxPeek>>10)
		}
		n, rerr := in.Read(chunk[:min(len(chunk), MaxPeek-len(buf))])
		buf = append(buf, chunk[:n]...)
		newline = newline || bytes.IndexByte(chunk[:n], '\n') >= 0
		if rerr == io.EOF {
			p, err := decideAtEOF(buf)
			return p, replay(buf, in), err
		}
		if rerr != nil {
			return None, nil, fmt.Errorf("reading stdin: %w", rerr)
		}
	}
}

// textPeek is how much text Detect reads, when no line ends sooner, before
// it checks that the input is text.
const textPeek = 512

// decide tells the protocol from buf, or says it needs more (done false).
// newline says whether buf holds a line feed.
func decide(buf []byte, newline bool) (p Protocol, done bool, err error) {
	b := bytes.TrimLeft(buf, " \t\r\n")
	if len(b) == 0 {
		return None, false, nil
	}
	for _, h := range headers {
		n := min(len(b), len(h))
		if bytes.EqualFold(b[:n], []byte(h[:n])) {
			if n == len(h) {
				return LSP, true, nil
			}
			return None, false, nil // a prefix of a header so far
		}
	}
	switch {
	case !newline && (b[0] == '{' || len(b) < textPeek):
		return None, false, nil
	case b[0] == '{':
		line, _, _ := bytes.Cut(b, []byte("\n"))
		return decideJSON(line)
	}
	return decideText(b, false)
}

// decideAtEOF decides on all of stdin.
func decideAtEOF(buf []byte) (Protocol, error) {
	b := bytes.TrimLeft(buf, " \t\r\n")
	switch {
	case len(b) == 0:
		return None, nil
	case b[0] == '{':
		line, _, _ := bytes.Cut(b, []byte("\n"))
		p, _, err := decideJSON(line)
		return p, err
	}
	p, _, err := decideText(b, true)
	return p, err
}

// decideJSON reads a first line that starts as a JSON object: a JSON-RPC
// initialize tells MCP from ACP; other JSON-RPC is refused; anything else
// is text.
func decideJSON(line []byte) (Protocol, bool, error) {
	var msg struct {
		JSONRPC *string `json:"jsonrpc"`
		Method  string  `json:"method"`
		Params  struct {
			ProtocolVersion json.RawMessage `json:"protocolVersion"`
		} `json:"params"`
	}
	if json.Unmarshal(line, &msg) != nil || msg.JSONRPC == nil {
		return decideText(line, true)
	}
	if msg.Method != "initialize" {
		return None, true, fmt.Errorf("the first message on stdin is JSON-RPC %q, not initialize: a client starts with initialize (or run loom mcp or loom acp)", msg.Method)
	}
	v := bytes.TrimSpace(msg.Params.ProtocolVersion)
	switch {
	case len(v) > 0 && v[0] == '"':
		return MCP, true, nil
	case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
		return ACP, true, nil
	}
	return None, true, errors.New("the initialize request on stdin has no params.protocolVersion: a date string is MCP, a number ACP (or run loom mcp or loom acp)")
}

// decideText accepts b as text unless it holds a NUL byte or is not UTF-8
// (a rune cut at the end of b is fine unless b is all there is).
func decideText(b []byte, whole bool) (Protocol, bool, error) {
	if bytes.IndexByte(b, 0) >= 0 || !validUTF8(b, whole) {
		return None, true, errors.New("stdin is neither a protocol (LSP, MCP, ACP) nor text: a NUL byte or invalid UTF-8 in its first bytes")
	}
	return Text, true, nil
}

func validUTF8(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	// The read may have cut the last rune: drop up to 3 bytes of it.
	for cut := 1; cut <= 3 && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return !utf8.FullRune(b[len(b)-cut:])
		}
	}
	return false
}

// replay returns a reader of head, then of in.
func replay(head []byte, in io.Reader) io.Reader {
	return &replayReader{head: head, in: in}
}

type replayReader struct {
	head []byte
	in   io.Reader
}

func (r *replayReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	return r.in.Read(p)
}

// Close closes the input beneath, so a server blocked reading it returns.
func (r *replayReader) Close() error {
	if c, ok := r.in.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
