package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStamp: a stamp says what os.Stat says (size, modification time to
// the nanosecond, type, a final symlink followed), on the fast path and on
// the portable one; a missing file is fs.ErrNotExist and a path that is
// not local is refused before any system call.
func TestStamp(t *testing.T) {
	for _, portable := range []bool{false, true} {
		r := newRoot(t)
		dir := r.root.Name()
		if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "a", "b", "f.go"), []byte("package f\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
		if err := os.Chtimes(filepath.Join(dir, "a", "b", "f.go"), when, when); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("a/b/f.go", filepath.Join(dir, "link.go")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		if portable {
			r.fast.close() // the descriptor gone, every stamp takes os.Stat
		}
		for _, rel := range []string{"a/b/f.go", "link.go", "a", ".", "in.txt", "fifo"} {
			st, err := r.Stamp(rel)
			if err != nil {
				t.Fatalf("portable=%v: Stamp(%q): %v", portable, rel, err)
			}
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			want := Stamp{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Mode: fi.Mode().Type()}
			if st != want {
				t.Errorf("portable=%v: Stamp(%q) = %+v, os.Stat says %+v", portable, rel, st, want)
			}
		}
		if st, _ := r.Stamp("a/b/f.go"); st.ModTime != when.UnixNano() || !st.Mode.IsRegular() {
			t.Errorf("portable=%v: f.go stamped %+v, want a regular file of %d", portable, st, when.UnixNano())
		}
		if _, err := r.Stamp("a/missing.go"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("portable=%v: a missing file: %v, want fs.ErrNotExist", portable, err)
		}
		for _, rel := range []string{"../outside/secret.txt", "/etc/passwd", ""} {
			if _, err := r.Stamp(rel); !errors.Is(err, ErrEscapes) {
				t.Errorf("portable=%v: Stamp(%q): %v, want ErrEscapes", portable, rel, err)
			}
		}
	}
}
