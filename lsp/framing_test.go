package lsp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// readFrames reads every frame of in: bodies as they are, refusals as
// "!", and the error that ended the input.
func readFrames(in io.Reader, max int) ([]string, error) {
	f := newFrameReader(in, max)
	var got []string
	for {
		body, _, err := f.next()
		var bad *frameError
		switch {
		case errors.As(err, &bad):
			got = append(got, "!")
		case err != nil:
			return got, err
		default:
			got = append(got, string(body))
		}
	}
}

// TestFrameReader: frames are read whole; a frame that cannot be taken is
// refused and the reading goes on after it.
func TestFrameReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		end  error
	}{
		{"frames", frame(`{"a":1}`) + frame("[]"), []string{`{"a":1}`, "[]"}, io.EOF},
		{"other fields, any case, bare newlines", "content-length: 2\nContent-Type: x\n\n{}", []string{"{}"}, io.EOF},
		{"blank lines between frames", "\r\n" + frame("{}") + "\r\n\r\n" + frame("1"), []string{"{}", "1"}, io.EOF},
		{"empty body", "Content-Length: 0\r\n\r\n" + frame("{}"), []string{"", "{}"}, io.EOF},
		{"over the limit", frame(strings.Repeat("x", 33)) + frame("{}"), []string{"!", "{}"}, io.EOF},
		{"line without colon", "Content-Length: 2\r\njunk\r\n\r\n{}" + frame("1"), []string{"!", "1"}, io.EOF},
		{"no length", "Content-Type: x\r\n\r\n{\"a\":1}" + frame("1"), []string{"!", "1"}, io.EOF},
		{"length not a number", "Content-Length: -4\r\n\r\nabcd" + frame("1"), []string{"!", "1"}, io.EOF},
		{"length of 19 digits", "Content-Length: 1000000000000000000\r\n\r\n" + frame("1"), []string{"!", "1"}, io.EOF},
		{"header line too long", strings.Repeat("h", maxHeaderLine+10) + "\r\n\r\n" + frame("1"), []string{"!", "1"}, io.EOF},
		{"garbage, then a frame glued on", "hello world" + frame("1"), []string{"!", "1"}, io.EOF},
		{"garbage to the end", "Content-Type: x\r\n\r\nno more frames", []string{"!"}, io.EOF},
		{"body cut short", "Content-Length: 10\r\n\r\n{}", nil, io.ErrUnexpectedEOF},
		{"header cut short", "Content-Length: 10\r\n", nil, io.ErrUnexpectedEOF},
		{"skipped body cut short", "Content-Length: 100\r\n\r\n{}", nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFrames(iotest.OneByteReader(strings.NewReader(tt.in)), 32)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || err != tt.end {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.end)
			}
		})
	}
}

// TestBodyOverLimitNotBuffered: a body far over the limit streams past
// without the reader holding it.
func TestBodyOverLimitNotBuffered(t *testing.T) {
	const size = 256 << 20
	in := io.MultiReader(strings.NewReader(fmt.Sprintf("Content-Length: %d\r\n\r\n", size)),
		io.LimitReader(zeros{}, size), strings.NewReader(frame("{}")))
	f := newFrameReader(in, 1<<20)
	if _, _, err := f.next(); !errors.As(err, new(*frameError)) {
		t.Fatalf("got %v, want a refusal", err)
	}
	if body, _, err := f.next(); err != nil || string(body) != "{}" {
		t.Fatalf("after it: %q, %v", body, err)
	}
	if f.r.Size() > 2*maxHeaderLine {
		t.Errorf("the reader buffers %d bytes", f.r.Size())
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzLSPFraming reads arbitrary input as LSP frames: the reader ends,
// never returns a body over the limit, and a well-framed message after a
// well-framed one of any content is always read.
func FuzzLSPFraming(f *testing.F) {
	for _, s := range []string{
		frame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`),
		"Content-Length: 0\r\n\r\n", "Content-Length: 99999999999\r\n\r\n{}", "content-LENGTH:5\n\nhello",
		"Content-Length: 2\r\nX\r\n\r\n{}", "Content-Lengthh: 3\r\n\r\n{} Content-Length: 2\r\n\r\n{}",
		"\r\n\r\n", "Content-Length: 3", "Content-Length: +3\r\n\r\nabc", strings.Repeat("C", 5000),
	} {
		f.Add([]byte(s))
	}
	const max = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newFrameReader(iotest.HalfReader(bytes.NewReader(data)), max)
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d frames from %d bytes", i, len(data))
			}
			body, _, err := r.next()
			if len(body) > max {
				t.Fatalf("a body of %d bytes, over %d", len(body), max)
			}
			if err != nil && !errors.As(err, new(*frameError)) {
				break
			}
		}

		got, err := readFrames(bytes.NewReader([]byte(frame(string(data))+frame("{}"))), max)
		want := []string{string(data), "{}"}
		if len(data) > max {
			want[0] = "!"
		}
		if err != io.EOF || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	})
}
