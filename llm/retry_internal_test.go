package llm

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestBackoffDelays(t *testing.T) {
	temp := &Error{Kind: KindServer, Temporary: true}
	tests := []struct {
		name  string
		pol   RetryPolicy
		rand  float64
		n     int
		err   error
		want  time.Duration
		retry bool
	}{
		{"first, low jitter", RetryPolicy{}, 0, 1, temp, 100 * time.Millisecond, true},
		{"first, high jitter", RetryPolicy{}, 0.5, 1, temp, 150 * time.Millisecond, true},
		{"second doubles", RetryPolicy{MaxAttempts: 5}, 0, 2, temp, 200 * time.Millisecond, true},
		{"capped at MaxDelay", RetryPolicy{MaxAttempts: 20}, 0, 10, temp, 2500 * time.Millisecond, true},
		{"attempts exhausted", RetryPolicy{}, 0, 3, temp, 0, false},
		{"one attempt means no retry", RetryPolicy{MaxAttempts: 1}, 0, 1, temp, 0, false},
		{"custom factor", RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, Factor: 3, MaxDelay: time.Hour}, 0, 3, temp, 4500 * time.Millisecond, true},
		{"bad factor falls back to 2", RetryPolicy{MaxAttempts: 5, Factor: math.NaN()}, 0, 2, temp, 200 * time.Millisecond, true},
		{"bad rand is tamed", RetryPolicy{}, 7, 1, temp, 150 * time.Millisecond, true},
		{"Retry-After wins", RetryPolicy{}, 0, 1, &Error{Kind: KindRateLimit, Temporary: true, RetryAfter: 7 * time.Second}, 7 * time.Second, true},
		{"not temporary", RetryPolicy{}, 0, 1, &Error{Kind: KindAuth}, 0, false},
		{"canceled", RetryPolicy{}, 0, 1, &Error{Kind: KindCanceled, Temporary: true}, 0, false},
		{"foreign error", RetryPolicy{}, 0, 1, errors.New("x"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.pol
			r := tt.rand
			pol.Rand = func() float64 { return r }
			d, ok := pol.withDefaults().delay(tt.n, tt.err)
			if ok != tt.retry || d != tt.want {
				t.Errorf("got %v %v, want %v %v", d, ok, tt.want, tt.retry)
			}
		})
	}
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// An hour's sleep returns at all only because its context ended; the
	// guard turns a sleep that ignores it into a failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- sleepCtx(ctx, time.Hour) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("sleepCtx ignored its ended context")
	}
}
