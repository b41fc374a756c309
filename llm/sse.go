package llm

import (
	"bufio"
	"bytes"
	"io"
)

// sseEvent is one server-sent event: its name ("message" when the stream
// names none) and its data lines joined by newlines.
type sseEvent struct {
	name string
	data []byte
}

// sseReader reads server-sent events as the WHATWG HTML standard defines
// them (fields "event" and "data", comments, blank lines ending an event);
// "id" and "retry" matter only to reconnecting browsers and are ignored. A
// line is as long as the guarded body lets it be (maxLineBytes).
type sseReader struct {
	r *bufio.Reader
	// dispatched counts the events returned; foreign is set by a line that
	// is no SSE field, so a body that is not a stream can be told apart.
	dispatched int
	foreign    bool
	head       []byte // the first headBytes of the body, to quote
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next event, or the read error (io.EOF at the end; an
// event the stream did not finish with a blank line is dropped, as the
// standard says).
func (s *sseReader) next() (sseEvent, error) {
	var (
		name    string
		data    bytes.Buffer
		hasData bool
	)
	for {
		line, err := s.r.ReadBytes('\n')
		if room := headBytes - len(s.head); room > 0 {
			s.head = append(s.head, line[:min(room, len(line))]...)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if err != nil {
			// A last line without its newline cannot end an event, but
			// may show that the body is no stream.
			if len(line) > 0 && !isSSEField(line) {
				s.foreign = true
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				name = ""
				continue
			}
			if name == "" {
				name = "message"
			}
			s.dispatched++
			return sseEvent{name: name, data: data.Bytes()}, nil
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "": // a comment
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id", "retry":
		default:
			s.foreign = true
		}
	}
}

func isSSEField(line []byte) bool {
	field, _, _ := bytes.Cut(line, []byte(":"))
	switch string(field) {
	case "", "event", "data", "id", "retry":
		return true
	}
	return false
}
