package thread

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"36h", now.Add(-36 * time.Hour), true},
		{"7d", now.AddDate(0, 0, -7), true},
		{"0d", now, true},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.Local), true},
		{"2026-01-31T10:00:00Z", time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), true},
		{"-5h", time.Time{}, false},
		{"-3d", time.Time{}, false},
		{"xd", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := ParseSince(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
