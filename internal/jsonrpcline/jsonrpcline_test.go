package jsonrpcline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReader: good lines pass on whole, each with a newline; bad ones are
// answered with the right code and id and left out; blank lines vanish.
func TestReader(t *testing.T) {
	long := `{"jsonrpc":"2.0","method":"x","params":"` + strings.Repeat("a", 100) + `"}`
	tests := []struct {
		name    string
		in      string
		passed  []string
		answers []string // "code id" of each answer
	}{
		{"request", `{"jsonrpc":"2.0","id":1,"method":"initialize"}` + "\n", []string{`{"jsonrpc":"2.0","id":1,"method":"initialize"}`}, nil},
		{"last line without newline", `{"id":"a","method":"m"}`, []string{`{"id":"a","method":"m"}`}, nil},
		{"response", `{"id":3,"result":null}` + "\n" + `{"id":4,"error":{"code":-1,"message":"no"}}` + "\n",
			[]string{`{"id":3,"result":null}`, `{"id":4,"error":{"code":-1,"message":"no"}}`}, nil},
		{"not JSON", "{oops\n" + `{"id":2,"method":"m"}` + "\n", []string{`{"id":2,"method":"m"}`}, []string{"-32700 null"}},
		{"blank lines", "\n  \r\n\n", nil, nil},
		{"over the limit", long + "\n" + `{"id":2,"method":"m"}` + "\n", []string{`{"id":2,"method":"m"}`}, []string{"-32600 null"}},
		{"over the limit at the end", long, nil, []string{"-32600 null"}},
		{"array", `[{"id":1,"method":"m"}]` + "\n", nil, []string{"-32600 null"}},
		{"scalar", "42\n", nil, []string{"-32600 null"}},
		{"method not a string", `{"id":7,"method":5}` + "\n", nil, []string{"-32600 7"}},
		{"object id", `{"id":{"a":1},"method":"m"}` + "\n", nil, []string{"-32600 null"}},
		{"no method, no result", `{"id":"q"}` + "\n" + `{"params":{}}` + "\n", nil, []string{`-32600 "q"`, "-32600 null"}},
		{"error code not an integer", `{"id":1,"error":{"code":1.5,"message":"x"}}` + "\n", nil, []string{"-32600 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers bytes.Buffer
			r := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)), &answers, Options{MaxLine: 64})
			out, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			for _, l := range tt.passed {
				want += l + "\n"
			}
			if string(out) != want {
				t.Errorf("passed on %q, want %q", out, want)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(answers.String(), "\n"), "\n") {
				if l == "" {
					continue
				}
				var a struct {
					JSONRPC string          `json:"jsonrpc"`
					ID      json.RawMessage `json:"id"`
					Error   Error           `json:"error"`
				}
				if err := json.Unmarshal([]byte(l), &a); err != nil || a.JSONRPC != "2.0" || a.Error.Message == "" {
					t.Fatalf("answer %q is not a JSON-RPC error", l)
				}
				got = append(got, strings.Join([]string{itoa(a.Error.Code), string(a.ID)}, " "))
			}
			if strings.Join(got, ";") != strings.Join(tt.answers, ";") {
				t.Errorf("answers %q, want %q", got, tt.answers)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestBeforeNotification: the hook sees notifications only, and what it
// returns goes first.
func TestBeforeNotification(t *testing.T) {
	var seen []string
	in := `{"method":"a"}` + "\n" + `{"id":1,"method":"b"}` + "\n" + `{"method":"c","params":{}}` + "\n"
	r := NewReader(strings.NewReader(in), io.Discard, Options{BeforeNotification: func(method string) []byte {
		seen = append(seen, method)
		if method == "c" {
			return []byte(`{"method":"_first"}` + "\n")
		}
		return nil
	}})
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"method":"a"}` + "\n" + `{"id":1,"method":"b"}` + "\n" + `{"method":"_first"}` + "\n" + `{"method":"c","params":{}}` + "\n"
	if string(out) != want || strings.Join(seen, ",") != "a,c" {
		t.Errorf("passed on %q with hook calls %v", out, seen)
	}
}

// TestLineOverLimitNotBuffered: a line far over the limit streams past
// without the reader holding it.
func TestLineOverLimitNotBuffered(t *testing.T) {
	const size = 256 << 20
	in := io.MultiReader(io.LimitReader(zeros{}, size), strings.NewReader("\n"+`{"id":1,"method":"m"}`+"\n"))
	l := NewLineReader(in, 1<<20)
	_, err := l.Next()
	var tooLong *TooLongError
	if !errors.As(err, &tooLong) || tooLong.Size != size {
		t.Fatalf("got %v, want a line of %d bytes over the limit", err, size)
	}
	if cap(l.buf) > 2<<20 {
		t.Errorf("the reader buffered %d bytes of it", cap(l.buf))
	}
	line, err := l.Next()
	if err != nil || string(line) != `{"id":1,"method":"m"}` {
		t.Fatalf("after it: %q, %v", line, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzLineReader checks the line reader against a plain split of its
// input, and the Reader for what it passes on and answers: only lines
// within the limit that Check accepts, and one JSON-RPC error per line
// refused.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{
		"", "\n", "a\nb", "{}\n", `{"id":1,"method":"m"}` + "\n",
		`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s"}}` + "\n",
		`{"id":1,"result":{}}` + "\n" + `{"id":2,"error":{"code":-32601,"message":"x"}}`,
		strings.Repeat("x", 40) + "\n{oops}\n\r\n", "[1,2]\n", `{"id":[],"method":"m"}`, `{"id":"a"}`,
	} {
		f.Add([]byte(s), uint8(16))
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		limit := int(max) + 1
		pieces := bytes.Split(data, []byte("\n"))
		if len(pieces[len(pieces)-1]) == 0 {
			pieces = pieces[:len(pieces)-1]
		}
		l := NewLineReader(iotest.HalfReader(bytes.NewReader(data)), limit)
		for i, want := range pieces {
			line, err := l.Next()
			var tooLong *TooLongError
			switch {
			case len(want) > limit:
				if !errors.As(err, &tooLong) || tooLong.Size != int64(len(want)) {
					t.Fatalf("line %d of %d bytes over %d: got %q, %v", i, len(want), limit, line, err)
				}
			case err != nil || !bytes.Equal(line, want):
				t.Fatalf("line %d: got %q, %v; want %q", i, line, err, want)
			}
		}
		if line, err := l.Next(); err != io.EOF {
			t.Fatalf("after the last line: %q, %v", line, err)
		}

		var answers bytes.Buffer
		out, err := io.ReadAll(NewReader(bytes.NewReader(data), &answers, Options{MaxLine: limit}))
		if err != nil {
			t.Fatal(err)
		}
		passed := 0
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			line = bytes.TrimSuffix(line, []byte("\n"))
			if _, bad := Check(line); bad != nil || len(line) > limit {
				t.Fatalf("passed on %q (%v)", line, bad)
			}
			passed++
		}
		refused := 0
		dec := json.NewDecoder(&answers)
		for dec.More() {
			var a struct {
				ID    json.RawMessage `json:"id"`
				Error Error           `json:"error"`
			}
			if err := dec.Decode(&a); err != nil || (a.Error.Code != CodeParseError && a.Error.Code != CodeInvalidRequest) {
				t.Fatalf("answer %+v: %v", a, err)
			}
			refused++
		}
		nonBlank := 0
		for _, p := range pieces {
			if len(bytes.TrimSpace(p)) > 0 || len(p) > limit {
				nonBlank++
			}
		}
		if passed+refused != nonBlank {
			t.Fatalf("%d lines passed on and %d refused, of %d", passed, refused, nonBlank)
		}
	})
}
