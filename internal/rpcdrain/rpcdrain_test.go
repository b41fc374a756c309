package rpcdrain

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestEndOfInputWaitsForAnswers: the end of input waits until every
// request read has an answer or is withdrawn; notifications and answers to
// the server's own questions are not waited for; a question to the client
// after the end of input ends the wait, since nothing can answer it.
func TestEndOfInputWaitsForAnswers(t *testing.T) {
	tests := []struct {
		name    string
		cancel  string // the protocol's cancellation notification
		input   string
		written []string // written while the reader waits
		waits   bool     // whether the end must wait for what is written
	}{
		{"request answered later", "notifications/cancelled", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":1,"result":{}}` + "\n"}, true},
		{"id written differently", "notifications/cancelled", `{"jsonrpc":"2.0","id":1.0,"method":"tools/call"}`,
			[]string{`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}` + "\n"}, true},
		{"string ids", "notifications/cancelled", `{"jsonrpc":"2.0","id":"a","method":"x"}` + "\n" + `{"jsonrpc":"2.0","id":"b","method":"y"}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":"b","result":1}` + "\n", `{"jsonrpc":"2.0","id":"a","result":2}` + "\n"}, true},
		{"notification only", "notifications/cancelled", `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n", nil, false},
		{"answer to the server's question", "notifications/cancelled", `{"jsonrpc":"2.0","id":7,"result":{"roots":[]}}` + "\n", nil, false},
		{"MCP cancellation", "notifications/cancelled", `{"jsonrpc":"2.0","id":3,"method":"tools/call"}` + "\n" +
			`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}` + "\n", nil, false},
		{"ACP cancellation", "$/cancel_request", `{"jsonrpc":"2.0","id":3,"method":"session/prompt"}` + "\n" +
			`{"jsonrpc":"2.0","method":"$/cancel_request","params":{"requestId":3}}` + "\n", nil, false},
		{"question the ended input cannot answer", "$/cancel_request", `{"jsonrpc":"2.0","id":1,"method":"session/prompt"}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":0,"method":"session/request_permission","params":{}}` + "\n"}, true},
		{"not JSON", "notifications/cancelled", "hello\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(tt.cancel)
			r := tr.Reader(context.Background(), strings.NewReader(tt.input))
			w := tr.Writer(io.Discard)
			done := make(chan error, 1)
			go func() { _, err := io.ReadAll(r); done <- err }()
			if tt.waits {
				select {
				case <-done:
					t.Fatal("the end of input came before anything was written")
				case <-time.After(50 * time.Millisecond):
				}
			}
			for _, s := range tt.written {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(hangGuard):
				t.Fatal("the end of input never came")
			}
		})
	}
}

// TestQuestionOpenAtEndOfInput: when the server already waits for the
// client as input ends, the end is not held back at all.
func TestQuestionOpenAtEndOfInput(t *testing.T) {
	tr := New("$/cancel_request")
	pr, pw := io.Pipe()
	r := tr.Reader(context.Background(), pr)
	go func() {
		pw.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"session/prompt"}` + "\n"))
		pw.Close()
	}()
	buf := make([]byte, 256)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	tr.Writer(io.Discard).Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"fs/read_text_file","params":{}}` + "\n"))
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(r); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the end of input was held back though the server waits for the client")
	}
}

// TestCancelledContextEndsTheWait: ending the context releases the end of
// input even with requests unanswered.
func TestCancelledContextEndsTheWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := New("notifications/cancelled").Reader(ctx, strings.NewReader(`{"id":1,"method":"x"}`+"\n"))
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
}

// hangGuard bounds a wait that should end on an event: far beyond any delay
// of a loaded machine, it only turns a hang into a failure.
const hangGuard = 30 * time.Second
