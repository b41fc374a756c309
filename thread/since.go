package thread

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSince reads a "since" filter as people write it: a Go duration
// ("36h"), a number of days ("7d"), a date in local time ("2026-01-31") or
// an RFC 3339 time, and returns the moment it names before now.
func ParseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (36h, 7d), a date (2026-01-31) or an RFC 3339 time", v)
}
