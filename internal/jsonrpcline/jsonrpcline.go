// Package jsonrpcline guards the input of a line-delimited JSON-RPC server
// (MCP and ACP over stdio). Its Reader stands between the input and the
// protocol library and passes on only the lines the library can take: a
// line of at most a set size holding a JSON object shaped like a JSON-RPC
// message. Anything else is answered on the spot with a JSON-RPC error and
// left out, so one bad line never ends the connection: -32700 for what is
// not JSON, -32600 for a line over the limit or a malformed message. A line
// over the limit is skipped as it streams past, never held in memory whole.
// Nothing of a refused message is logged but its size and why.
//
// The answers are written to the writer the library writes its own
// messages to; wrap it with Locked so that the two never interleave.
package jsonrpcline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// The JSON-RPC 2.0 error codes the Reader answers with.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
)

// TooLongError reports a line over the limit, which was skipped.
type TooLongError struct {
	Size  int64 // the line's length, its newline left out
	Limit int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("message of %d bytes is over the limit of %d bytes", e.Size, e.Limit)
}

// LineReader splits its input into lines of at most a set size. A longer
// line is read to its end and dropped, and reported as a *TooLongError;
// the input goes on after it.
type LineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewLineReader returns a reader of lines of at most max bytes (newline
// excluded) from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line without its newline, valid until the next
// call. The last line may lack its newline. At the end of input it returns
// io.EOF; a line over the limit is a *TooLongError and a later call reads
// on.
func (l *LineReader) Next() ([]byte, error) {
	if cap(l.buf) > 1<<20 {
		l.buf = nil // do not keep a large line's buffer for small ones
	}
	l.buf = l.buf[:0]
	var skipped int64 = -1 // bytes of a line over the limit, once it is known to be
	for {
		chunk, err := l.r.ReadSlice('\n')
		size := len(chunk)
		if err == nil {
			size-- // the newline
		}
		switch {
		case skipped >= 0:
			skipped += int64(size)
		case len(l.buf)+size > l.max:
			skipped = int64(len(l.buf) + size)
			l.buf = nil // free what was kept of it while the rest streams past
		default:
			l.buf = appendDoubling(l.buf, chunk[:size], l.max)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && (skipped > 0 || len(l.buf) > 0):
			// The last line, without a newline: the next call reports the end.
		default:
			return nil, err
		}
		if skipped >= 0 {
			return nil, &TooLongError{Size: skipped, Limit: l.max}
		}
		return l.buf, nil
	}
}

// DefaultMaxLine is the longest line a Reader passes on unless told
// otherwise: far above any message a client sends in earnest, low enough
// that a runaway one cannot exhaust memory.
const DefaultMaxLine = 64 << 20

// appendDoubling appends chunk to buf, growing it to twice its size (up to
// limit) when it is full: a long line leaves less garbage behind than
// append's growth by a quarter would.
func appendDoubling(buf, chunk []byte, limit int) []byte {
	if need := len(buf) + len(chunk); need > cap(buf) {
		grown := make([]byte, len(buf), max(need, min(2*cap(buf), limit), 4096))
		copy(grown, buf)
		buf = grown
	}
	return append(buf, chunk...)
}

// Options configure a Reader.
type Options struct {
	// MaxLine is the longest line passed on, newline excluded
	// (DefaultMaxLine if zero or less).
	MaxLine int
	// BeforeNotification, if set, is called before a notification is
	// passed on, with its method. It may block to hold back the input, and
	// returns whole lines to pass on before the notification (or nil).
	BeforeNotification func(method string) []byte
	// Logger receives a line for each message refused (default: discard).
	Logger *slog.Logger
}

// Reader passes on the acceptable lines of its input, each ending with a
// newline, and answers the others. Create it with NewReader.
type Reader struct {
	lines   *LineReader
	replies io.Writer
	opts    Options
	parts   [][]byte // what is left to pass on of the current message
}

// NewReader returns a Reader of r that writes its error answers to replies.
func NewReader(r io.Reader, replies io.Writer, opts Options) *Reader {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	return &Reader{lines: NewLineReader(r, opts.MaxLine), replies: replies, opts: opts}
}

var newline = []byte("\n")

// Read implements io.Reader. Errors from the input, io.EOF among them, are
// returned as they come; a failure to write an answer ends the reading too.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.parts) == 0 {
		line, err := r.lines.Next()
		var tooLong *TooLongError
		if errors.As(err, &tooLong) {
			r.opts.Logger.Warn("jsonrpc: message refused", "bytes", tooLong.Size, "err", "over the limit")
			if err := r.answer(nil, CodeInvalidRequest, "invalid request: "+tooLong.Error()); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, bad := Check(line)
		if bad != nil {
			r.opts.Logger.Warn("jsonrpc: message refused", "bytes", len(line), "err", bad.Message)
			if err := r.answer(m.ID, bad.Code, bad.Message); err != nil {
				return 0, err
			}
			continue
		}
		if m.IsNotification() && r.opts.BeforeNotification != nil {
			if first := r.opts.BeforeNotification(m.Method); len(first) > 0 {
				r.parts = append(r.parts, first)
			}
		}
		r.parts = append(r.parts, line, newline)
	}
	n := 0
	for n < len(p) && len(r.parts) > 0 {
		c := copy(p[n:], r.parts[0])
		n += c
		if r.parts[0] = r.parts[0][c:]; len(r.parts[0]) == 0 {
			r.parts = r.parts[1:]
		}
	}
	return n, nil
}

// answer writes a JSON-RPC error response with id (null when nil).
func (r *Reader) answer(id json.RawMessage, code int, message string) error {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   Error           `json:"error"`
	}{"2.0", id, Error{Code: code, Message: message}})
	if err != nil {
		return err
	}
	_, err = r.replies.Write(append(b, '\n'))
	return err
}

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Message is what Check reads of a JSON-RPC message.
type Message struct {
	// ID is the message's id as written: a string or a number, or nil when
	// it has none (or null, or one of another type).
	ID     json.RawMessage
	Method string
	hasID  bool
}

// IsNotification reports whether the message is a notification: a method
// and no id.
func (m Message) IsNotification() bool { return m.Method != "" && !m.hasID }

// envelope is the shape of a JSON-RPC message.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result present         `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// present records that a member is there without copying its value.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// Check reads line as a JSON-RPC 2.0 message: a JSON object with a string
// method, or an id and a result or error; an id, if any, a string, a number
// or null. It returns the error to answer with when the line is not one,
// and what it could read of it (the id to answer to).
func Check(line []byte) (Message, *Error) {
	var env envelope
	err := json.Unmarshal(line, &env)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return Message{}, &Error{CodeParseError, fmt.Sprintf("parse error: not JSON (%v at byte %d)", err, syntax.Offset)}
	}
	if start := bytes.TrimLeft(line, " \t\r\n"); len(start) == 0 || start[0] != '{' {
		return Message{}, &Error{CodeInvalidRequest, "invalid request: a message is a JSON object (batches are not supported)"}
	}
	var m Message
	if len(env.ID) > 0 {
		m.hasID = true
		switch c := env.ID[0]; {
		case c == '"', c == '-', c >= '0' && c <= '9':
			m.ID = env.ID
		case c == 'n': // null
		default:
			return m, &Error{CodeInvalidRequest, "invalid request: the id must be a string, a number or null"}
		}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return m, &Error{CodeInvalidRequest, fmt.Sprintf("invalid request: %q must not be a JSON %s", typeErr.Field, typeErr.Value)}
	}
	if err != nil {
		return m, &Error{CodeInvalidRequest, "invalid request: " + err.Error()}
	}
	m.Method = env.Method
	if m.Method == "" && !(m.hasID && (bool(env.Result) || env.Error != nil)) {
		return m, &Error{CodeInvalidRequest, "invalid request: neither a request, a notification nor a response"}
	}
	return m, nil
}

// Locked returns w with each Write made under one lock. The libraries
// write each message in one call, so the Reader's answers, written through
// the same Locked writer, never land inside one of them.
func Locked(w io.Writer) io.Writer { return &locked{w: w} }

type locked struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
