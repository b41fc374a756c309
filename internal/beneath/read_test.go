package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFile reads regular files, FIFOs, folders, links in and out of
// the root and oversized files, by the fast path where there is one and by
// os.Root's: both give the same answers.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "hello\n")
	write("sub/b.txt", strings.Repeat("x", 100))
	write("empty.txt", "")
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"a.txt", "in"}, {filepath.Join(outside, "secret"), "out"}, {"../" + filepath.Base(outside), "updir"}, {"/dev/zero", "zero"}, {"sub", "linkdir"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		rel   string
		limit int64
		want  string
		err   error
	}{
		{"a.txt", 0, "hello\n", nil},
		{"empty.txt", 10, "", nil},
		{"sub/b.txt", 100, strings.Repeat("x", 100), nil},
		{"sub/b.txt", 99, "", &TooLargeError{}},
		{"in", 0, "hello\n", nil},
		{"linkdir/b.txt", 0, strings.Repeat("x", 100), nil},
		{"fifo", 0, "", ErrNotRegular},
		{"sub", 0, "", ErrNotRegular},
		{"out", 0, "", ErrEscapes},
		{"zero", 0, "", ErrEscapes},
		{"updir/secret", 0, "", ErrEscapes},
		{"../x", 0, "", ErrEscapes},
		{"missing", 0, "", fs.ErrNotExist},
	}
	for _, fast := range []bool{true, false} {
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !fast {
			r.fast.close() // os.Root's path alone
		}
		for _, tt := range tests {
			got, err := r.ReadFile(tt.rel, tt.limit)
			var big *TooLargeError
			switch {
			case tt.err == nil && (err != nil || string(got) != tt.want):
				t.Errorf("fast=%v ReadFile(%s) = %q, %v; want %q", fast, tt.rel, got, err, tt.want)
			case errors.As(tt.err, &big) && !errors.As(err, &big):
				t.Errorf("fast=%v ReadFile(%s) err = %v, want too large", fast, tt.rel, err)
			case tt.err != nil && !errors.As(tt.err, &big) && !errors.Is(err, tt.err):
				t.Errorf("fast=%v ReadFile(%s) err = %v, want %v", fast, tt.rel, err, tt.err)
			}
		}
		r.Close()
	}
}
