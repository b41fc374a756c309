package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestApplyConflictWritesNothing changes one file on disk after staging
// edits to several: Apply names the file and leaves every file untouched.
func TestApplyConflictWritesNothing(t *testing.T) {
	before := map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n", "d.txt": "d\n"}
	tests := []struct {
		name     string
		disturb  func(dir string) error
		conflict string
	}{
		{"modified on disk", func(dir string) error { return os.WriteFile(filepath.Join(dir, "c.txt"), []byte("C!\n"), 0o644) }, "c.txt"},
		{"deleted on disk", func(dir string) error { return os.Remove(filepath.Join(dir, "b.txt")) }, "b.txt"},
		{"created on disk", func(dir string) error { return os.WriteFile(filepath.Join(dir, "new.txt"), []byte("mine\n"), 0o644) }, "new.txt"},
		{"rename target created", func(dir string) error { return os.WriteFile(filepath.Join(dir, "moved.txt"), []byte("mine\n"), 0o644) }, "moved.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, dir := newWorkspace(t, before)
			cs := ws.NewChangeset()
			write("a.txt", "A\n")(t, cs)
			write("b.txt", "B\n")(t, cs)
			write("c.txt", "C\n")(t, cs)
			write("new.txt", "new\n")(t, cs)
			move("d.txt", "moved.txt")(t, cs)
			if err := tt.disturb(dir); err != nil {
				t.Fatal(err)
			}
			want := readTree(t, dir)
			_, err := cs.Apply()
			var conflict *ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("Apply err = %v, want a ConflictError", err)
			}
			if conflict.Path != tt.conflict || !strings.Contains(err.Error(), tt.conflict) {
				t.Errorf("conflict names %q (%v), want %q", conflict.Path, err, tt.conflict)
			}
			if got := readTree(t, dir); !reflect.DeepEqual(got, want) {
				t.Errorf("files changed despite the conflict:\n got %q\nwant %q", got, want)
			}
			if cs.Empty() {
				t.Error("a refused apply emptied the changeset")
			}
		})
	}
}

// TestApplyRollsBack makes the second write fail after the first has
// landed: the first file is restored and no temporary files remain.
func TestApplyRollsBack(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"a.txt": "a\n"})
	cs := ws.NewChangeset()
	write("a.txt", "A\n")(t, cs)
	write("b/c.txt", "c\n")(t, cs)
	// A file where the folder b must go makes the second write fail.
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(); err == nil {
		t.Fatal("Apply succeeded, want a failure")
	}
	want := map[string]string{"a.txt": "a\n", "b": "in the way\n"}
	if got := readTree(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("after the failed apply files = %q, want %q", got, want)
	}
}

// TestApplyIsAtomicPerFile checks that a file is replaced by a rename (its
// inode changes) and that no temporary file is left beside it.
func TestApplyIsAtomicPerFile(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"a.txt": "a\n"})
	p := filepath.Join(dir, "a.txt")
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	write("a.txt", "A\n")(t, cs)
	if _, err := cs.Apply(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("the file was rewritten in place, not replaced by a rename")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only a.txt", len(entries))
	}
}

// TestApplyRemovesFoldersItMadeOnRollback: the first change creates a
// folder, the second fails; the rollback removes the file and the folder.
func TestApplyRemovesFoldersItMadeOnRollback(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"z.txt": "z\n"})
	cs := ws.NewChangeset()
	write("a/deep/new.txt", "n\n")(t, cs)
	write("b/c.txt", "c\n")(t, cs)
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(); err == nil {
		t.Fatal("Apply succeeded, want a failure")
	}
	want := map[string]string{"z.txt": "z\n", "b": "in the way\n"}
	if got := readTree(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("folder a exists after the rollback: %v", err)
	}
}
