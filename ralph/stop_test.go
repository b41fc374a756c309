package ralph

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRequestStop: a stop request reaches only a loop that holds its lock
// (in the folder, or in the worktree of one of the folder's loops), names
// it, and is refused, leaving no request behind, where none runs: no lock
// file, a lock file whose holder is gone, another loop's ID.
func TestRequestStop(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) (wantDir string)
		want    string // the ID asked for
		wantID  string
		wantErr string
	}{
		{name: "no loop ever ran", setup: func(*testing.T, string) string { return "" }, wantErr: "no Ralph loop is running"},
		{name: "the last loop's lock file, not held", setup: func(t *testing.T, dir string) string {
			unlock, err := lock(dir, "old-loop")
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			// A holder's ID written but its process gone: the kernel let go.
			os.WriteFile(filepath.Join(dir, lockName), []byte("old-loop\n"), 0o644)
			return ""
		}, wantErr: "no Ralph loop is running"},
		{name: "a loop in the folder", setup: func(t *testing.T, dir string) string {
			hold(t, dir, "20260101-000000-abcdef")
			return dir
		}, wantID: "20260101-000000-abcdef"},
		{name: "the loop asked for by prefix", setup: func(t *testing.T, dir string) string {
			hold(t, dir, "20260101-000000-abcdef")
			return dir
		}, want: "20260101", wantID: "20260101-000000-abcdef"},
		{name: "another loop than the one asked for", setup: func(t *testing.T, dir string) string {
			hold(t, dir, "20260101-000000-abcdef")
			return ""
		}, want: "2027", wantErr: "loop 20260101-000000-abcdef runs there"},
		{name: "a loop in a worktree of the folder's", setup: func(t *testing.T, dir string) string {
			wt := t.TempDir()
			rec := Record{ID: "20260101-000000-aaaaaa", State: StateIterating, Worktree: wt, Started: time.Now()}
			if err := rec.save(dir); err != nil {
				t.Fatal(err)
			}
			hold(t, wt, rec.ID)
			return wt
		}, wantID: "20260101-000000-aaaaaa"},
		{name: "an ended loop's worktree is not looked in", setup: func(t *testing.T, dir string) string {
			wt := t.TempDir()
			rec := Record{ID: "20260101-000000-aaaaaa", State: StateDone, Worktree: wt, Started: time.Now()}
			if err := rec.save(dir); err != nil {
				t.Fatal(err)
			}
			hold(t, wt, "20260101-000000-bbbbbb")
			return ""
		}, wantErr: "no Ralph loop is running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			wantDir := tt.setup(t, dir)
			r, err := RequestStop(dir, tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrNoLoop) {
					t.Fatalf("err = %v, want ErrNoLoop saying %q", err, tt.wantErr)
				}
				if m, _ := filepath.Glob(filepath.Join(dir, RecordDir, "*.stop")); len(m) > 0 {
					t.Errorf("a refused request left %v", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != tt.wantID || r.Dir != wantDir {
				t.Errorf("asked %+v, want %s in %s", r, tt.wantID, wantDir)
			}
			if !stopRequested(wantDir, tt.wantID) {
				t.Error("the loop does not see the request")
			}
			if stopRequested(wantDir, "20990101-000000-ffffff") {
				t.Error("another loop sees the request")
			}
		})
	}
}

// hold takes dir's loop lock as loop id until the test ends.
func hold(t *testing.T, dir, id string) {
	t.Helper()
	unlock, err := lock(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
}
