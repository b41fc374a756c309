package llm_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

// retryLog records OnRetry calls and the waits asked of Sleep, which it
// skips so tests stay fast while still seeing the delays chosen.
type retryLog struct {
	mu       sync.Mutex
	attempts []int
	delays   []time.Duration
	errs     []error
	slept    []time.Duration
}

func (l *retryLog) policy() llm.RetryPolicy {
	return llm.RetryPolicy{
		OnRetry: func(attempt int, d time.Duration, err error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.attempts = append(l.attempts, attempt)
			l.delays = append(l.delays, d)
			l.errs = append(l.errs, err)
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.slept = append(l.slept, d)
			return ctx.Err()
		},
	}
}

func TestRetryRecoversFromFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault llmtest.Fault
		kind  llm.Kind
		delay func(time.Duration) bool
		// client, when set, replaces the HTTP client (for timeouts).
		client *http.Client
	}{
		{name: "429 with Retry-After seconds", fault: llmtest.Fault{Status: 429, RetryAfter: "1"}, kind: llm.KindRateLimit,
			delay: func(d time.Duration) bool { return d == time.Second }},
		// The date is taken now, and the request made later on a loaded
		// machine: the delay is what is left of 20 s, to the second.
		{name: "429 with Retry-After date", fault: llmtest.Fault{Status: 429, RetryAfter: llmtest.RetryAfter(time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat))}, kind: llm.KindRateLimit,
			delay: func(d time.Duration) bool { return d > 10*time.Second && d <= 20*time.Second }},
		{name: "429 without Retry-After backs off", fault: llmtest.Fault{Status: 429}, kind: llm.KindRateLimit, delay: firstBackoff},
		{name: "408", fault: llmtest.Fault{Status: 408}, kind: llm.KindTimeout, delay: firstBackoff},
		{name: "500", fault: llmtest.Fault{Status: 500}, kind: llm.KindServer, delay: firstBackoff},
		{name: "502", fault: llmtest.Fault{Status: 502}, kind: llm.KindServer, delay: firstBackoff},
		{name: "503", fault: llmtest.Fault{Status: 503}, kind: llm.KindServer, delay: firstBackoff},
		{name: "504", fault: llmtest.Fault{Status: 504}, kind: llm.KindServer, delay: firstBackoff},
		{name: "connection closed before answering", fault: llmtest.Fault{Cut: true}, kind: llm.KindNetwork, delay: firstBackoff},
		{name: "stream cut before any event", fault: llmtest.Fault{CutAfter: 1}, kind: llm.KindNetwork, delay: firstBackoff},
		// The answer to the retry must come within the timeout too.
		{name: "client timeout", fault: llmtest.Fault{DelayMS: 60_000}, kind: llm.KindTimeout, delay: firstBackoff,
			client: &http.Client{Timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.fault
			srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "lost", Fault: &f}, llmtest.Turn{Text: "recovered"}))
			inner, err := llm.NewOpenAI(llm.Config{Model: "m", BaseURL: srv.URL, HTTPClient: tt.client})
			if err != nil {
				t.Fatal(err)
			}
			var log retryLog
			got, err := run(context.Background(), llm.WithRetry(inner, log.policy()), userRequest("hi"))
			if err != nil {
				t.Fatalf("not recovered: %v", err)
			}
			if got.Text != "recovered" {
				t.Errorf("text %q", got.Text)
			}
			if n := len(srv.Requests()); n != 2 || srv.Remaining() != 0 {
				t.Errorf("%d requests, %d turns left; want 2 and 0", n, srv.Remaining())
			}
			if len(log.attempts) != 1 || log.attempts[0] != 2 {
				t.Fatalf("OnRetry attempts %v, want [2]", log.attempts)
			}
			var le *llm.Error
			if !errors.As(log.errs[0], &le) || le.Kind != tt.kind {
				t.Errorf("OnRetry error %v, want kind %v", log.errs[0], tt.kind)
			}
			if !tt.delay(log.delays[0]) || log.slept[0] != log.delays[0] {
				t.Errorf("delay %v slept %v", log.delays[0], log.slept)
			}
		})
	}
}

// firstBackoff: the default first wait is 200ms jittered to [100ms, 200ms].
func firstBackoff(d time.Duration) bool {
	return d >= 100*time.Millisecond && d <= 200*time.Millisecond
}

func TestNoRetryAfterPartialOutput(t *testing.T) {
	srv := llmtest.NewServer(t, script(
		llmtest.Turn{Text: "one two three four", Fault: &llmtest.Fault{CutAfter: 3}},
		llmtest.Turn{Text: "must not be played"},
	))
	var log retryLog
	got, err := run(context.Background(), llm.WithRetry(newProvider(t, srv.URL, ""), log.policy()), userRequest("hi"))
	if e := asError(t, err); e.Kind != llm.KindNetwork {
		t.Errorf("error %v", err)
	}
	if got.Text != "one two " {
		t.Errorf("delivered %q", got.Text)
	}
	if srv.Remaining() != 1 || len(log.attempts) != 0 {
		t.Errorf("retried: %d turns left, OnRetry %v", srv.Remaining(), log.attempts)
	}
}

func TestNoRetryOnPermanentErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 501} {
		srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: status}}, llmtest.Turn{Text: "unused"}))
		var log retryLog
		_, err := run(context.Background(), llm.WithRetry(newProvider(t, srv.URL, ""), log.policy()), userRequest("hi"))
		if e := asError(t, err); e.Status != status {
			t.Errorf("%d: got %v", status, err)
		}
		if srv.Remaining() != 1 || len(log.attempts) != 0 {
			t.Errorf("%d retried", status)
		}
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	srv := llmtest.NewServer(t, script(
		llmtest.Turn{Fault: &llmtest.Fault{Status: 503, Message: "first"}},
		llmtest.Turn{Fault: &llmtest.Fault{Status: 502, Message: "second"}},
		llmtest.Turn{Fault: &llmtest.Fault{Status: 500, Message: "third"}},
		llmtest.Turn{Text: "never reached"},
	))
	var log retryLog
	pol := log.policy()
	pol.Rand = func() float64 { return 0.999999 } // the top of each jitter range
	_, err := run(context.Background(), llm.WithRetry(newProvider(t, srv.URL, ""), pol), userRequest("hi"))
	if e := asError(t, err); e.Status != 500 || e.Message != "third" {
		t.Errorf("final error %v, want the last attempt's", err)
	}
	if srv.Remaining() != 1 {
		t.Errorf("%d turns left, want 1", srv.Remaining())
	}
	if len(log.attempts) != 2 || log.attempts[0] != 2 || log.attempts[1] != 3 {
		t.Errorf("attempts %v", log.attempts)
	}
	// Exponential: about 200ms then 400ms.
	if d := log.delays; len(d) != 2 || d[0] < 199*time.Millisecond || d[1] < 399*time.Millisecond || d[1] > 400*time.Millisecond {
		t.Errorf("delays %v", d)
	}
}

func TestRetryConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String() + "/v1"
	l.Close()
	var log retryLog
	_, err = run(context.Background(), llm.WithRetry(newProvider(t, base, ""), log.policy()), userRequest("hi"))
	if e := asError(t, err); e.Kind != llm.KindNetwork || !strings.Contains(err.Error(), "ollama serve") {
		t.Errorf("got %v", err)
	}
	if len(log.attempts) != 2 {
		t.Errorf("OnRetry %v, want two retries", log.attempts)
	}
}

// A Retry-After longer than the policy allows is not waited out.
func TestRetryAfterTooLong(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: 429, RetryAfter: "120"}}, llmtest.Turn{Text: "unused"}))
	var log retryLog
	_, err := run(context.Background(), llm.WithRetry(newProvider(t, srv.URL, ""), log.policy()), userRequest("hi"))
	if e := asError(t, err); e.Kind != llm.KindRateLimit || !strings.Contains(err.Error(), "wait 2m0s") {
		t.Errorf("got %v", err)
	}
	if len(log.attempts) != 0 {
		t.Errorf("retried: %v", log.attempts)
	}
}

// The real sleep honours Retry-After and gives up when the context ends:
// the server asks for an hour, so a call that returns at all was cut short.
func TestRetrySleepRespectsContext(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: 429, RetryAfter: "3600"}}, llmtest.Turn{Text: "unused"}))
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan time.Duration, 1)
	p := llm.WithRetry(newProvider(t, srv.URL, ""), llm.RetryPolicy{
		MaxRetryAfter: 2 * time.Hour,
		OnRetry:       func(_ int, d time.Duration, _ error) { waiting <- d },
	})
	go func() {
		<-waiting
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, p, userRequest("hi"))
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		t.Fatalf("still sleeping %v after the cancel: the sleep ignored the context", hangGuard)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if srv.Remaining() != 1 {
		t.Errorf("retried after cancel")
	}
}

// Retry-After is honoured by the real sleep too (a short one).
func TestRetryAfterHonouredInRealTime(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: 429, RetryAfter: "0.3"}}, llmtest.Turn{Text: "ok"}))
	start := time.Now()
	got, err := run(context.Background(), llm.WithRetry(newProvider(t, srv.URL, ""), llm.RetryPolicy{}), userRequest("hi"))
	if err != nil || got.Text != "ok" {
		t.Fatalf("got %q, %v", got.Text, err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("retried after %v, before the 300ms the server asked for", el)
	}
}

func TestNeverRetryCanceled(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "slow", Fault: &llmtest.Fault{DelayMS: 60_000}}, llmtest.Turn{Text: "unused"}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var log retryLog
	_, err := run(ctx, llm.WithRetry(newProvider(t, srv.URL, ""), log.policy()), userRequest("hi"))
	if !errors.Is(err, context.DeadlineExceeded) || llm.Retryable(err) {
		t.Errorf("error %v", err)
	}
	if len(log.attempts) != 0 {
		t.Errorf("retried a canceled call")
	}
}
