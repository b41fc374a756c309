package mcp

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestDrainingReader: the end of input waits until every request read has
// an answer or is cancelled; notifications and answers to the server's own
// requests are not waited for.
func TestDrainingReader(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		answers []string // written while the reader waits
		waits   bool     // whether EOF must wait for the answers
	}{
		{"request answered later", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":1,"result":{}}` + "\n"}, true},
		{"id written differently", `{"jsonrpc":"2.0","id":1.0,"method":"tools/call"}`,
			[]string{`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}` + "\n"}, true},
		{"string ids", `{"jsonrpc":"2.0","id":"a","method":"x"}` + "\n" + `{"jsonrpc":"2.0","id":"b","method":"y"}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":"b","result":1}` + "\n", `{"jsonrpc":"2.0","id":"a","result":2}` + "\n"}, true},
		{"notification only", `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n", nil, false},
		{"answer to the server's request", `{"jsonrpc":"2.0","id":7,"result":{"roots":[]}}` + "\n", nil, false},
		{"cancelled request", `{"jsonrpc":"2.0","id":3,"method":"tools/call"}` + "\n" +
			`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}` + "\n", nil, false},
		{"not JSON", "hello\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newAnswerTracker()
			r := &drainingReader{ctx: context.Background(), r: strings.NewReader(tt.input), t: tr}
			w := answerWriter{w: io.Discard, t: tr}
			done := make(chan error, 1)
			go func() { _, err := io.ReadAll(r); done <- err }()
			if tt.waits {
				select {
				case <-done:
					t.Fatal("end of input came before the answers")
				case <-time.After(50 * time.Millisecond):
				}
			}
			for _, a := range tt.answers {
				w.Write([]byte(a))
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("end of input never came")
			}
		})
	}
	// A cancelled context ends the wait too.
	ctx, cancel := context.WithCancel(context.Background())
	r := &drainingReader{ctx: ctx, r: strings.NewReader(`{"id":1,"method":"x"}` + "\n"), t: newAnswerTracker()}
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
}
