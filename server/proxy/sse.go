package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// maxLineBytes bounds one line of an upstream's stream: a server that
// sends a whole tool call in one line (Ollama) writes a file in it.
const maxLineBytes = 16 << 20

// sseEvent is one server-sent event: its name ("" when the stream names
// none) and its data lines joined by newlines. data is the reader's and
// is valid until its next call of next.
type sseEvent struct {
	name string
	data []byte
}

// sseReader reads server-sent events (fields "event" and "data"; comments,
// "id" and "retry" are dropped), a line at most maxLineBytes long. It
// reads through a buffer of its own, rather than a bufio.Scanner, so
// that ready can tell whether the next event has already arrived.
type sseReader struct {
	br   *bufio.Reader
	long []byte // a line longer than br's buffer, pieced together
	data []byte // the event being read, reused from one to the next
}

// firstLineBytes is a stream's read buffer: a model's chunks are a few
// hundred bytes, and a buffer of 64 KiB per stream showed in the proxy's
// CPU profile under load (bench/proxy.sh), allocated and cleared per
// stream. A longer line is pieced together in sseReader.long.
const firstLineBytes = 4 << 10

func newSSEReader(r io.Reader) *sseReader {
	br := sseBuffers.Get().(*bufio.Reader)
	br.Reset(r)
	return &sseReader{br: br}
}

// sseBuffers keeps finished streams' buffers for the next: a stream's
// buffer was a sixth of what the proxy allocated per stream, and
// allocation sets how often the collector runs.
var sseBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, firstLineBytes) }}

// release gives the reader's buffer back; the reader and the events it
// returned are not used after.
func (s *sseReader) release() {
	s.br.Reset(nil)
	sseBuffers.Put(s.br)
	s.br = nil
}

var errLineTooLong = fmt.Errorf("a line of the upstream's stream is over %d bytes", maxLineBytes)

// next returns the next event; io.EOF at the end (an event not finished by
// a blank line is dropped, as the standard says).
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	s.data = s.data[:0]
	has := false
	for {
		line, err := s.line()
		if err != nil {
			return ev, err
		}
		if len(line) == 0 {
			if !has {
				ev.name = ""
				continue
			}
			ev.data = s.data
			return ev, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = eventName(value)
		case "data":
			if has {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			has = true
		}
	}
}

// line reads one line, without its end ("\n" or "\r\n"); a last line
// that no newline ends is dropped with io.EOF, as it could only be part
// of an unfinished event. The line is valid until the next read.
func (s *sseReader) line() ([]byte, error) {
	l, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], l...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if l, err = s.br.ReadSlice('\n'); len(s.long)+len(l) > maxLineBytes+1 {
				return nil, errLineTooLong
			}
			s.long = append(s.long, l...)
		}
		l = s.long
	}
	if err != nil {
		return nil, err
	}
	l = l[:len(l)-1]
	return bytes.TrimSuffix(l, []byte("\r")), nil
}

// ready reports whether a whole event (one with data) is in the buffer
// already, so that next would return it without waiting on the
// upstream: only then may the writer leave the events it has written so
// far unflushed.
func (s *sseReader) ready() bool {
	buf, _ := s.br.Peek(s.br.Buffered())
	has := false
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return false
		}
		line := bytes.TrimSuffix(buf[:i], []byte("\r"))
		buf = buf[i+1:]
		switch {
		case len(line) == 0 && has:
			return true
		case bytes.Equal(line, []byte("data")) || bytes.HasPrefix(line, []byte("data:")):
			has = true
		}
	}
}

// eventName is value as a string, without allocating one for the names
// of the Messages API's events (one per event).
func eventName(value []byte) string {
	switch string(value) {
	case "message_start":
		return "message_start"
	case "content_block_start":
		return "content_block_start"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_stop":
		return "content_block_stop"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "ping":
		return "ping"
	case "error":
		return "error"
	}
	return string(value)
}

// sseWriter writes events to the client; the caller flushes whenever the
// upstream has nothing more ready (sseReader.ready), so no event waits in
// a buffer for one that has not come, and events that came together go
// in one write.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
	// buf is the event being written, reused: the ResponseWriter copies
	// what it is given.
	buf []byte
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
	buf := s.buf[:0]
	if name != "" {
		buf = append(append(append(buf, "event: "...), name...), '\n')
	}
	buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
	_, s.err = s.w.Write(buf)
	if cap(buf) <= maxKeptEvent {
		s.buf = buf
	}
}

// maxKeptEvent bounds the buffer an sseWriter keeps between events: a
// long line (a whole file in a tool call) is written, not held.
const maxKeptEvent = 64 << 10

func (s *sseWriter) flush() {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
}
