// Package ratelimit limits how often one key (a client address, an email
// address) may do something, with a token bucket per key
// (golang.org/x/time/rate) and a bounded number of keys: when the table is
// full, keys whose buckets have refilled are dropped first, and if none
// has, the whole table is cleared rather than grown, so a flood of new keys
// costs memory only up to the bound. Limits are per process: several
// replicas each allow the rate.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter limits each key to Burst events at once, refilled at one per
// Every.
type Limiter struct {
	every time.Duration
	burst int
	max   int

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

// New returns a limiter allowing burst events per key, one more each
// every, for at most maxKeys keys at a time.
func New(every time.Duration, burst, maxKeys int) *Limiter {
	return &Limiter{every: every, burst: burst, max: maxKeys, keys: map[string]*rate.Limiter{}}
}

// Allow reports whether key may act now, and counts it if so.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.max {
			l.prune()
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.keys[key] = lim
	}
	return lim.Allow()
}

// prune drops the keys whose buckets are full again (forgetting them
// changes nothing); if every key is still limited, it drops them all.
func (l *Limiter) prune() {
	now := time.Now()
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= l.max {
		clear(l.keys)
	}
}

// Len is the number of keys held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
