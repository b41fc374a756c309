package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := New(time.Hour, 2, 100)
	if !l.Allow("a") || !l.Allow("a") || l.Allow("a") {
		t.Fatal("want two events for a, then a refusal")
	}
	if !l.Allow("b") {
		t.Fatal("b is limited by a's bucket")
	}
	// A flood of keys never grows the table past its bound.
	for i := range 1000 {
		l.Allow(fmt.Sprint(i))
		if l.Len() > 100 {
			t.Fatalf("%d keys held, bound 100", l.Len())
		}
	}
}
