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

// newRoot opens a root holding in.txt, a folder symlink and a file symlink
// leading to a folder beside it, which holds secret.txt.
func newRoot(t *testing.T) *Root {
	t.Helper()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{filepath.Join(dir, "in.txt"): "inside\n", filepath.Join(outside, "secret.txt"): "secret\n"}
	for p, text := range files {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"dir-out": outside, "file-out": filepath.Join(outside, "secret.txt"), "rel-out": "../outside"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestEscapesRefused: every way of reading a path that leads out of the
// root, by a symlink or "..", is refused with ErrEscapes (which workspace
// turns into its ErrOutsideRoot), whichever way the read is made: whole
// files take openat2 on Linux, the others os.Root.
func TestEscapesRefused(t *testing.T) {
	r := newRoot(t)
	reads := []struct {
		name string
		read func(rel string) ([]byte, error)
	}{
		{"ReadFile", func(rel string) ([]byte, error) { return r.ReadFile(rel, 0) }},
		{"ReadHead", func(rel string) ([]byte, error) { return r.ReadHead(rel, 64) }},
		{"OpenRegular", func(rel string) ([]byte, error) {
			f, _, err := r.OpenRegular(rel, 0)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			b := make([]byte, 64)
			n, _ := f.Read(b)
			return b[:n], nil
		}},
	}
	for _, rd := range reads {
		t.Run(rd.name, func(t *testing.T) {
			if b, err := rd.read("in.txt"); err != nil || string(b) != "inside\n" {
				t.Fatalf("in.txt: %q, %v", b, err)
			}
			for _, rel := range []string{"dir-out/secret.txt", "file-out", "rel-out/secret.txt", "../outside/secret.txt"} {
				b, err := rd.read(rel)
				if !errors.Is(err, ErrEscapes) {
					t.Errorf("%s: %q, err = %v, want ErrEscapes", rel, b, err)
				}
				if strings.Contains(string(b), "secret") {
					t.Errorf("%s: read %q from outside the root", rel, b)
				}
			}
		})
	}
	t.Run("OpenDir", func(t *testing.T) {
		if _, err := r.OpenDir("dir-out"); !errors.Is(err, ErrEscapes) {
			t.Errorf("OpenDir(dir-out) err = %v, want ErrEscapes", err)
		}
	})
}

// TestSizeCap: a file over the cap is refused before it is read, with its
// real size in the error; at the cap, or without one, it is read.
func TestSizeCap(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(strings.Repeat("x", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		limit   int64
		refused bool
	}{{10, true}, {99, true}, {100, false}, {0, false}}
	for _, tt := range tests {
		b, err := r.ReadFile("f.txt", tt.limit)
		f, _, oerr := r.OpenRegular("f.txt", tt.limit)
		if oerr == nil {
			f.Close()
		}
		if !tt.refused {
			if err != nil || len(b) != 100 || oerr != nil {
				t.Errorf("limit %d: ReadFile %d bytes, %v; OpenRegular %v; want the file", tt.limit, len(b), err, oerr)
			}
			continue
		}
		for name, err := range map[string]error{"ReadFile": err, "OpenRegular": oerr} {
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Size != 100 || tl.Limit != tt.limit {
				t.Errorf("limit %d: %s err = %v, want a TooLargeError of 100 bytes over %d", tt.limit, name, err, tt.limit)
			}
		}
	}
}

// TestOnlyRegularFiles: a folder or a FIFO is refused with ErrNotRegular,
// and the FIFO's open does not block.
func TestOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, rel := range []string{"sub", "pipe"} {
		if _, err := r.ReadFile(rel, 0); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile(%s) err = %v, want ErrNotRegular", rel, err)
		}
		if _, err := r.ReadHead(rel, 8); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadHead(%s) err = %v, want ErrNotRegular", rel, err)
		}
	}
	if _, err := r.ReadFile("missing", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) err = %v, want ErrNotExist", err)
	}
}
