package mcp

import (
	"testing"
	"time"
)

func TestWrittenProgress(t *testing.T) {
	w := newWrittenProgress()
	w.observe([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1,"progressToken":"a"}}` + "\n"))
	w.observe([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":2,\"progressToken\":7}}\n\n"))
	w.observe([]byte(`{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"\"method\":\"notifications/progress\""}]}}` + "\n"))
	w.observe([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":9,"progressToken":"b"`)) // cut short
	tests := []struct {
		token any
		n     float64
		want  bool
	}{
		{"a", 1, true},
		{float64(7), 2, true}, // a number token as a request decodes it
		{"b", 1, false},
		{3, 1, false},
	}
	for _, tt := range tests {
		// A notification already written is found at once: with an hour to
		// wait, only the hang guard would notice a wait for the timer. One
		// never written can only time out, so that timeout is short.
		timeout := 50 * time.Millisecond
		if tt.want {
			timeout = time.Hour
		}
		if got := waitGuarded(t, w, tt.token, tt.n, timeout); got != tt.want {
			t.Errorf("wait(%v, %v) = %v, want %v", tt.token, tt.n, got, tt.want)
		}
	}

	// A wait ends as soon as the notification is written.
	done := make(chan bool)
	go func() { done <- w.wait("late", 3, time.Hour) }()
	time.Sleep(10 * time.Millisecond) // most often the wait has begun; either order must end it
	w.observe([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":3,"progressToken":"late"}}`))
	select {
	case ok := <-done:
		if !ok {
			t.Error("wait reported the late notification unwritten")
		}
	case <-time.After(hangGuard):
		t.Error("wait did not end when the notification was written")
	}
}

// hangGuard bounds a wait that should end on an event: far beyond any
// scheduling delay of a loaded machine, it only turns a hang into a failure.
const hangGuard = 30 * time.Second

func waitGuarded(t *testing.T, w *writtenProgress, token any, n float64, timeout time.Duration) bool {
	t.Helper()
	done := make(chan bool, 1)
	go func() { done <- w.wait(token, n, timeout) }()
	select {
	case ok := <-done:
		return ok
	case <-time.After(hangGuard):
		t.Fatalf("wait(%v, %v) still waiting after %v", token, n, hangGuard)
		return false
	}
}
