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
		start := time.Now()
		if got := w.wait(tt.token, tt.n, 50*time.Millisecond); got != tt.want {
			t.Errorf("wait(%v, %v) = %v, want %v", tt.token, tt.n, got, tt.want)
		}
		if tt.want && time.Since(start) > 40*time.Millisecond {
			t.Errorf("wait(%v) took %v for a notification already written", tt.token, time.Since(start))
		}
	}

	// A wait ends as soon as the notification is written.
	done := make(chan bool)
	go func() { done <- w.wait("late", 3, 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	w.observe([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":3,"progressToken":"late"}}`))
	select {
	case ok := <-done:
		if !ok {
			t.Error("wait reported the late notification unwritten")
		}
	case <-time.After(time.Second):
		t.Error("wait did not end when the notification was written")
	}
}
