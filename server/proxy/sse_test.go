package proxy

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestSSEReader: the same events come out whether the stream arrives in
// one read or a byte at a time.
func TestSSEReader(t *testing.T) {
	long := strings.Repeat("x", 3*firstLineBytes+17)
	for _, tc := range []struct {
		name, in string
		want     []sseEvent
	}{
		{"one", "data: {}\n\n", []sseEvent{{data: []byte("{}")}}},
		{"named", "event: message_stop\ndata: {\"a\":1}\n\n", []sseEvent{{name: "message_stop", data: []byte(`{"a":1}`)}}},
		{"unknown name", "event: other\ndata: 1\n\n", []sseEvent{{name: "other", data: []byte("1")}}},
		{"crlf", "event: ping\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n", []sseEvent{{name: "ping", data: []byte("1")}, {data: []byte("2")}}},
		{"lines joined", "data: a\ndata:b\ndata\n\n", []sseEvent{{data: []byte("a\nb\n")}}},
		{"dropped fields", ": hi\nid: 7\nretry: 10\ndata: x\n\n", []sseEvent{{data: []byte("x")}}},
		{"name without data forgotten", "event: ping\n\ndata: x\n\n", []sseEvent{{data: []byte("x")}}},
		{"blank lines", "\n\n\ndata: x\n\n\n\ndata: y\n\n", []sseEvent{{data: []byte("x")}, {data: []byte("y")}}},
		{"unfinished dropped", "data: x\n\ndata: y\n", []sseEvent{{data: []byte("x")}}},
		{"no newline at the end", "data: x\n\ndata: y", []sseEvent{{data: []byte("x")}}},
		{"longer than the buffer", "data: " + long + "\n\ndata: z\n\n", []sseEvent{{data: []byte(long)}, {data: []byte("z")}}},
	} {
		for _, split := range []string{"whole", "bytes"} {
			t.Run(tc.name+"/"+split, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tc.in)
				if split == "bytes" {
					r = iotest.OneByteReader(r)
				}
				rd := newSSEReader(r)
				for i, want := range tc.want {
					ev, err := rd.next()
					if err != nil {
						t.Fatalf("event %d: %v", i, err)
					}
					if ev.name != want.name || !bytes.Equal(ev.data, want.data) {
						t.Fatalf("event %d: %q %.80q, want %q %.80q", i, ev.name, ev.data, want.name, want.data)
					}
				}
				if ev, err := rd.next(); err != io.EOF {
					t.Fatalf("after the events: %q %q, %v", ev.name, ev.data, err)
				}
			})
		}
	}
}

// TestSSEReaderLineTooLong: a line over maxLineBytes ends the stream
// with errLineTooLong rather than growing without bound.
func TestSSEReaderLineTooLong(t *testing.T) {
	r := io.MultiReader(strings.NewReader("data: "), strings.NewReader(strings.Repeat("x", maxLineBytes+1)), strings.NewReader("\n\n"))
	if _, err := newSSEReader(r).next(); !errors.Is(err, errLineTooLong) {
		t.Fatalf("got %v", err)
	}
}

// errNoMore is what failAfterFirst gives once its first read is done.
var errNoMore = errors.New("read past what had come")

// failAfterFirst returns r's bytes in one read, then errNoMore: the
// bytes a reader has buffered are all it has.
type failAfterFirst struct {
	r    io.Reader
	done bool
}

func (f *failAfterFirst) Read(p []byte) (int, error) {
	if f.done {
		return 0, errNoMore
	}
	f.done = true
	return f.r.Read(p)
}

// TestSSEReaderReady: ready says yes exactly when the next event is
// buffered whole, so that next returns it without another read.
func TestSSEReaderReady(t *testing.T) {
	for _, tc := range []struct {
		rest string // what follows a first event in the same read
		want bool
	}{
		{"", false},
		{"data: x\n\n", true},
		{"data: x\r\n\r\n", true},
		{"data\n\n", true},
		{"\n\nid: 1\nevent: e\ndata: x\n\n", true},
		{"data: x\n", false},
		{"data: x\n\r", false},
		{"data: x", false},
		{"event: e\n\n", false},
		{": comment\n\n", false},
		{"datum: x\n\n", false},
		{"\n\n\n", false},
	} {
		t.Run(strings.ReplaceAll(tc.rest, "\n", `\n`), func(t *testing.T) {
			rd := newSSEReader(&failAfterFirst{r: strings.NewReader("data: first\n\n" + tc.rest)})
			if _, err := rd.next(); err != nil {
				t.Fatal(err)
			}
			if got := rd.ready(); got != tc.want {
				t.Fatalf("ready: %v", got)
			}
			_, err := rd.next()
			if tc.want && err != nil {
				t.Fatalf("ready, but next read on: %v", err)
			}
			if !tc.want && err == nil {
				t.Fatal("not ready, but next returned an event without reading")
			}
		})
	}
}
