package lsp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"go.lsp.dev/jsonrpc2"
)

// MaxMessageBytes is the largest message body (Content-Length) `loom lsp`
// takes: far above any document an editor sends, low enough that a runaway
// client cannot exhaust memory. A larger body is answered with an error
// and skipped as it streams past, and the session goes on.
const MaxMessageBytes = 64 << 20

// maxHeaderLine is the longest header line read; a longer one is a
// malformed header.
const maxHeaderLine = 4096

// jsonrpc2 v1.0.1 ends the connection on the first frame it cannot decode
// (a body that is not JSON, a malformed header) and reads bodies of up to
// 1 GiB whole. guardedStream reads the frames itself instead: what it
// cannot take is answered with a JSON-RPC error and skipped, and only
// well-formed messages reach the connection.
type guardedStream struct {
	jsonrpc2.Stream // jsonrpc2's own header stream, for writing and closing
	frames          *frameReader
	log             *slog.Logger
}

func newGuardedStream(rwc io.ReadWriteCloser, log *slog.Logger) *guardedStream {
	return &guardedStream{Stream: jsonrpc2.NewHeaderStream(rwc), frames: newFrameReader(rwc, MaxMessageBytes), log: log}
}

// Read returns the next message that decodes, answering the others.
func (s *guardedStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		body, n, err := s.frames.next()
		var bad *frameError
		if errors.As(err, &bad) {
			s.log.Warn("lsp: message refused", "bytes", bad.size, "err", bad.message)
			if err := s.answer(ctx, jsonrpc2.ID{}, jsonrpc2.NewError(jsonrpc2.InvalidRequest, bad.message)); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		msg, err := jsonrpc2.DecodeMessage(body)
		if err != nil {
			refusal := refusalOf(body, err)
			s.log.Warn("lsp: message refused", "bytes", len(body), "err", refusal.Message)
			if err := s.answer(ctx, idOf(body), refusal); err != nil {
				return nil, 0, err
			}
			continue
		}
		return msg, n, nil
	}
}

func (s *guardedStream) answer(ctx context.Context, id jsonrpc2.ID, e *jsonrpc2.Error) error {
	_, err := s.Write(ctx, jsonrpc2.NewResponse(id, nil, e))
	return err
}

// refusalOf is the error a body that does not decode is answered with.
func refusalOf(body []byte, err error) *jsonrpc2.Error {
	if !json.Valid(body) {
		return jsonrpc2.NewError(jsonrpc2.ParseError, "parse error: the message body is not JSON")
	}
	return jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "invalid request: not a JSON-RPC 2.0 message (%v)", err)
}

// idOf reads the id of a message that did not decode, to answer to it;
// the zero ID (null) when there is none to read.
func idOf(body []byte) jsonrpc2.ID {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil {
		return jsonrpc2.ID{}
	}
	var s string
	if json.Unmarshal(m.ID, &s) == nil {
		return jsonrpc2.NewStringID(s)
	}
	var n int64
	if json.Unmarshal(m.ID, &n) == nil {
		return jsonrpc2.NewNumberID(n)
	}
	return jsonrpc2.ID{}
}

// frameError is a frame that cannot be taken: answered, then skipped.
type frameError struct {
	message string
	size    int64 // the body's size, when known
}

func (e *frameError) Error() string { return e.message }

// frameReader reads the LSP base protocol's frames: header lines ending
// with a blank line, then Content-Length bytes of body. A frame it cannot
// take is a *frameError and the reading goes on after it: a body over the
// limit, or after a header it can make sense of, is skipped by its length;
// after a header without a usable Content-Length the reader looks for the
// next "Content-Length:" and takes up from there.
type frameReader struct {
	r      *bufio.Reader
	max    int
	lost   bool   // the last frame's end is unknown: look for the next header
	resume []byte // the start of a header line found while looking
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, maxHeaderLine), max: max}
}

var contentLength = []byte("content-length:")

// next returns the next frame's body and the bytes the frame took; io.EOF
// at the end of input between frames, io.ErrUnexpectedEOF inside one.
func (f *frameReader) next() ([]byte, int64, error) {
	if f.lost {
		if err := f.findHeader(); err != nil {
			return nil, 0, err
		}
		f.lost = false
	}
	length, read := int64(-1), int64(0)
	var bad string
	for lines := 0; ; lines++ {
		line, err := f.headerLine()
		read += int64(len(line))
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			f.lost = true
			return nil, 0, &frameError{message: fmt.Sprintf("invalid request: a header line is over %d bytes", maxHeaderLine), size: -1}
		case errors.Is(err, io.EOF) && read == 0:
			return nil, 0, io.EOF
		case errors.Is(err, io.EOF):
			return nil, 0, io.ErrUnexpectedEOF
		case err != nil:
			return nil, 0, err
		}
		if i := indexContentLength(line); i > 0 {
			// A header glued to what came before it (a body longer than
			// its Content-Length said, or garbage): refuse what precedes
			// it, and read the header next.
			f.resume = append([]byte(nil), line[i:]...)
			return nil, 0, &frameError{message: "invalid request: bytes that are not a header where a header was expected", size: read}
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			if lines == 0 && length < 0 {
				read = 0 // blank lines between frames are no frame
				lines = -1
				continue
			}
			break
		}
		name, value, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		switch {
		case !ok:
			bad = "invalid request: a header line has no colon"
		case bytes.EqualFold(bytes.TrimSpace(name), contentLength[:len(contentLength)-1]):
			length = parseLength(bytes.TrimSpace(value))
			if length < 0 {
				bad = "invalid request: Content-Length is not a number of bytes"
			}
		}
	}
	switch {
	case length < 0:
		f.lost = true
		if bad == "" {
			bad = "invalid request: the header has no Content-Length"
		}
		return nil, 0, &frameError{message: bad, size: -1}
	case bad != "":
		return nil, 0, f.skip(length, &frameError{message: bad, size: length})
	case length > int64(f.max):
		return nil, 0, f.skip(length, &frameError{message: fmt.Sprintf("invalid request: message of %d bytes is over the limit of %d bytes", length, f.max), size: length})
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(f.r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	return body, read + length, nil
}

// headerLine returns the next header line, up to its newline, beginning
// with what was kept to resume with.
func (f *frameReader) headerLine() ([]byte, error) {
	if r := f.resume; len(r) > 0 && r[len(r)-1] == '\n' {
		f.resume = nil
		return r, nil
	}
	line, err := f.r.ReadSlice('\n')
	if f.resume != nil {
		line = append(f.resume, line...)
		f.resume = nil
	}
	return line, err
}

// skip discards a body of length bytes as it streams past, then returns
// refusal (or the error that ended the input first).
func (f *frameReader) skip(length int64, refusal *frameError) error {
	if _, err := io.CopyN(io.Discard, f.r, length); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return refusal
}

// findHeader discards input up to the next "Content-Length:" (in any case)
// and keeps those bytes to start the next header line with. The text
// cannot start anywhere inside it again ('c' opens it only once), so a
// mismatch starts the match over.
func (f *frameReader) findHeader() error {
	matched := 0
	for matched < len(contentLength) {
		c, err := f.r.ReadByte()
		if err != nil {
			return err // io.EOF: the input ended between frames
		}
		switch {
		case lower(c) == contentLength[matched]:
			matched++
		case lower(c) == contentLength[0]:
			matched = 1
		default:
			matched = 0
		}
	}
	f.resume = append(f.resume[:0], "Content-Length:"...)
	return nil
}

// indexContentLength returns where "Content-Length:" (in any case) starts
// in line, or -1.
func indexContentLength(line []byte) int {
	for i := 0; i+len(contentLength) <= len(line); i++ {
		j := 0
		for j < len(contentLength) && lower(line[i+j]) == contentLength[j] {
			j++
		}
		if j == len(contentLength) {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseLength reads a Content-Length value: decimal digits, at most 18 of
// them so it cannot overflow; -1 if it is not one.
func parseLength(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
