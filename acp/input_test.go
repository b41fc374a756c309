package acp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPacer: a barrier goes before every paceWindow-th notification; the
// pacer holds back the notification after 2*paceWindow unconfirmed ones
// until a barrier is reached, or the connection ends. $/cancel_request is
// not counted (the SDK does not queue it).
func TestPacer(t *testing.T) {
	stop := make(chan struct{})
	p := newPacer(stop)
	var barriers []string
	for i := range 2 * paceWindow {
		if b := p.before("session/cancel"); b != nil {
			barriers = append(barriers, string(b))
			if i != paceWindow {
				t.Fatalf("a barrier before notification %d", i)
			}
		}
		p.before("$/cancel_request")
	}
	if len(barriers) != 1 || !strings.Contains(barriers[0], `"handled":256`) || !json.Valid([]byte(barriers[0])) {
		t.Fatalf("barriers %q", barriers)
	}

	passed := make(chan []byte)
	go func() { passed <- p.before("session/cancel") }()
	select {
	case <-passed:
		t.Fatal("a notification passed with the queue full")
	case <-time.After(50 * time.Millisecond):
	}
	p.reached(json.RawMessage(`{"handled":256}`))
	select {
	case b := <-passed:
		if !strings.Contains(string(b), `"handled":512`) {
			t.Errorf("the barrier before notification 512 is %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the barrier did not release the notification")
	}

	for range paceWindow - 1 {
		p.before("session/cancel")
	}
	go func() { passed <- p.before("session/cancel") }()
	close(stop)
	select {
	case <-passed:
	case <-time.After(10 * time.Second):
		t.Fatal("the end of the connection did not release the notification")
	}
}
