package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxLineBytes bounds one line of an upstream's stream: a server that
// sends a whole tool call in one line (Ollama) writes a file in it.
const maxLineBytes = 16 << 20

// sseEvent is one server-sent event: its name ("" when the stream names
// none) and its data lines joined by newlines.
type sseEvent struct {
	name string
	data []byte
}

// sseReader reads server-sent events (fields "event" and "data"; comments,
// "id" and "retry" are dropped), a line at most maxLineBytes long.
type sseReader struct {
	sc *bufio.Scanner
}

// firstLineBytes is a stream's buffer to begin with, grown (up to
// maxLineBytes) only for a longer line: a model's chunks are a few hundred
// bytes, and a buffer of 64 KiB per stream showed in the proxy's CPU
// profile under load (bench/proxy.sh), allocated and cleared per stream.
const firstLineBytes = 4 << 10

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, firstLineBytes), maxLineBytes)
	return &sseReader{sc: sc}
}

var errLineTooLong = fmt.Errorf("a line of the upstream's stream is over %d bytes", maxLineBytes)

// next returns the next event; io.EOF at the end (an event not finished by
// a blank line is dropped, as the standard says).
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	has := false
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(line) == 0 {
			if !has {
				ev.name = ""
				continue
			}
			ev.data = data.Bytes()
			return ev, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "data":
			if has {
				data.WriteByte('\n')
			}
			data.Write(value)
			has = true
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return ev, errLineTooLong
		}
		return ev, err
	}
	return ev, io.EOF
}

// sseWriter writes events to the client; the caller flushes after each
// event of the upstream, so nothing waits in a buffer.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	// nginx and others buffer answers unless told not to.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// event writes one event, named or not; after a failed write it does
// nothing and err says why.
func (s *sseWriter) event(name string, data []byte) {
	if s.err != nil {
		return
	}
	buf := make([]byte, 0, len(name)+len(data)+16)
	if name != "" {
		buf = append(append(append(buf, "event: "...), name...), '\n')
	}
	buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
	_, s.err = s.w.Write(buf)
}

func (s *sseWriter) flush() {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
}
