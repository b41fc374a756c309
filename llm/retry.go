package llm

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// RetryPolicy says when and how long to wait before trying a failed call
// again. Zero fields take the defaults noted on each.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, the first included
	// (default 3; 1 disables retrying).
	MaxAttempts int
	// BaseDelay is the wait before the first retry (default 200ms); each
	// later wait is Factor (default 2) times longer, capped at MaxDelay
	// (default 5s), and jittered to between half and all of that.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Factor    float64
	// MaxRetryAfter is the longest Retry-After the policy waits for
	// (default 30s). When a server asks for longer, the error is returned at
	// once: waiting less than asked would only fail again, and waiting
	// minutes silently is worse than telling the person.
	MaxRetryAfter time.Duration
	// OnRetry, if set, is called before each wait, with the number of the
	// attempt about to be made (2 for the first retry), the wait, and the
	// error that caused it; the agent uses it to show "waiting to retry".
	OnRetry func(attempt int, delay time.Duration, err error)
	// Sleep waits for d or until ctx is done (tests inject a fast one).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter.
	Rand func() float64
}

// DefaultRetryPolicy returns the policy used for zero fields.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{}.withDefaults()
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.Factor < 1 || math.IsNaN(p.Factor) || math.IsInf(p.Factor, 0) {
		p.Factor = 2
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 30 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retryable reports whether err is worth another try: a temporary *Error
// (429, 408, 500, 502, 503, 504, refused or broken connections, timeouts).
// Cancellation never is.
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary && e.Kind != KindCanceled
}

// delay returns the wait before the retry that follows failure number n
// (1-based), or false when err should not be retried.
func (p RetryPolicy) delay(n int, err error) (time.Duration, bool) {
	if n >= p.MaxAttempts || !Retryable(err) {
		return 0, false
	}
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		if e.RetryAfter > p.MaxRetryAfter {
			return 0, false
		}
		return e.RetryAfter, true
	}
	d := float64(p.BaseDelay) * math.Pow(p.Factor, float64(n-1))
	d = math.Min(d, float64(p.MaxDelay))
	r := p.Rand()
	if r < 0 || r >= 1 || math.IsNaN(r) {
		r = 0.5
	}
	return time.Duration(d/2 + r*d/2), true
}

// WithRetry wraps p so that failed calls are tried again under pol. A call
// is retried only while the failed attempt has handed nothing to the caller:
// once an event was delivered, a later error passes through unchanged, since
// the caller may already have shown or acted on the partial answer.
func WithRetry(p Provider, pol RetryPolicy) Provider {
	return &retrying{p: p, pol: pol.withDefaults()}
}

type retrying struct {
	p   Provider
	pol RetryPolicy
}

func (r *retrying) Stream(ctx context.Context, req Request) (Stream, error) {
	rs := &retryStream{r: r, ctx: ctx, req: req}
	if err := rs.open(nil); err != nil {
		return nil, err
	}
	return rs, nil
}

type retryStream struct {
	r         *retrying
	ctx       context.Context
	req       Request
	attempts  int
	delivered bool
	err       error

	mu     sync.Mutex // guards cur and closed against a concurrent Close
	cur    Stream
	closed bool
}

// open makes attempts until one opens a stream. lastErr, when not nil, is
// the failure of the previous attempt, to be waited out first.
func (rs *retryStream) open(lastErr error) error {
	for {
		if lastErr != nil {
			d, ok := rs.r.pol.delay(rs.attempts, lastErr)
			if !ok || rs.ctx.Err() != nil || rs.isClosed() {
				return lastErr
			}
			if rs.r.pol.OnRetry != nil {
				rs.r.pol.OnRetry(rs.attempts+1, d, lastErr)
			}
			if err := rs.r.pol.Sleep(rs.ctx, d); err != nil {
				return &Error{Kind: KindCanceled, Message: "canceled while waiting to retry after: " + lastErr.Error(), Err: err}
			}
			if rs.isClosed() {
				return lastErr
			}
		}
		rs.attempts++
		s, err := rs.r.p.Stream(rs.ctx, rs.req)
		if err != nil {
			lastErr = err
			continue
		}
		rs.mu.Lock()
		if rs.closed {
			rs.mu.Unlock()
			s.Close()
			return errClosed
		}
		rs.cur = s
		rs.mu.Unlock()
		return nil
	}
}

var errClosed = errors.New("llm: stream closed")

func (rs *retryStream) isClosed() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.closed
}

func (rs *retryStream) current() Stream {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.cur
}

func (rs *retryStream) Recv() (Event, error) {
	for {
		s := rs.current()
		if s == nil {
			if rs.err == nil {
				rs.err = errClosed
			}
			return Event{}, rs.err
		}
		ev, err := s.Recv()
		if err == nil {
			rs.delivered = true
			return ev, nil
		}
		if err == io.EOF || rs.delivered {
			return ev, err
		}
		rs.mu.Lock()
		rs.cur = nil
		rs.mu.Unlock()
		s.Close()
		if oerr := rs.open(err); oerr != nil {
			rs.err = oerr
			return Event{}, oerr
		}
	}
}

func (rs *retryStream) Close() error {
	rs.mu.Lock()
	rs.closed = true
	s := rs.cur
	rs.mu.Unlock()
	if s != nil {
		return s.Close()
	}
	return nil
}
