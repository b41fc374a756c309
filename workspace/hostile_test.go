package workspace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hangGuard runs fn and fails the test if it has not returned within a
// generous deadline: on the old code these calls blocked in open() for ever.
func hangGuard[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	select {
	case v := <-done:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s hung (blocked for 10 s)", what)
		panic("unreachable")
	}
}

// specialTree adds a FIFO, a unix socket and, where the test may make one,
// a character device to dir, and returns their names.
func specialTree(t *testing.T, dir string) []string {
	t.Helper()
	names := []string{"pipe.go"}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.go"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Socket paths are limited to 108 bytes; listen from inside dir.
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "unix", shortSocketPath(t, dir, "sock.go"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	names = append(names, "sock.go")
	// /dev/zero's own device numbers (1, 5): only root may make it.
	if err := syscall.Mknod(filepath.Join(dir, "zero.go"), syscall.S_IFCHR|0o644, 1<<8|5); err == nil {
		names = append(names, "zero.go")
	} else {
		t.Logf("no device node in the fixture (%v); FIFO and socket only", err)
	}
	return names
}

// shortSocketPath returns name inside dir, through a symlinked short
// folder when dir is too long for a socket address.
func shortSocketPath(t *testing.T, dir, name string) string {
	p := filepath.Join(dir, name)
	if len(p) < 100 {
		return p
	}
	link := filepath.Join(os.TempDir(), "loom-sock-"+filepath.Base(dir))
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	return filepath.Join(link, name)
}

// TestSpecialFilesRefused names FIFOs, sockets and devices to every read
// and staging call: each is refused at once with "not a regular file", and
// the disk is unchanged.
func TestSpecialFilesRefused(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"main.go": "package main\n"})
	specials := specialTree(t, dir)
	ops := []struct {
		name string
		run  func(cs *Changeset, p string) error
	}{
		{"read", func(cs *Changeset, p string) error { _, err := cs.ReadFile(p); return err }},
		{"write", func(cs *Changeset, p string) error { _, err := cs.WriteFile(p, []byte("x")); return err }},
		{"remove", func(cs *Changeset, p string) error { _, err := cs.Remove(p); return err }},
		{"move", func(cs *Changeset, p string) error { _, _, err := cs.Move(p, "moved.go"); return err }},
		{"read disk", func(cs *Changeset, p string) error { _, err := cs.Workspace().ReadDiskInto(p, nil); return err }},
	}
	for _, name := range specials {
		for _, op := range ops {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				cs := ws.NewChangeset()
				err := hangGuard(t, op.name+" "+name, func() error { return op.run(cs, name) })
				if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("err = %v, want a clear not-a-regular-file error", err)
				}
				if !cs.Empty() {
					t.Errorf("a refused call staged %v", cs.Changes())
				}
			})
		}
	}
	if got := readTree(t, dir); !reflect.DeepEqual(got, map[string]string{"main.go": "package main\n"}) {
		t.Errorf("files after the refusals = %q", got)
	}
}

// TestWalkSkipsHostileFiles walks a tree whose ignore files are a FIFO, a
// symlink to /dev/zero and an oversized sparse file, beside FIFOs, sockets
// and symlink loops: the walk ends, lists only regular files, and still
// honours a well-formed .gitignore.
func TestWalkSkipsHostileFiles(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{
		"main.go":         "package main\n",
		"debug.log":       "ignored\n",
		"ok/.gitignore":   "*.tmp\n",
		"ok/a.go":         "package ok\n",
		"ok/b.tmp":        "ignored\n",
		"fifo/x.go":       "package fifo\n",
		"big/y.go":        "package big\n",
		"zero/z.go":       "package zero\n",
		".git/info/x.txt": "not walked\n",
	})
	specialTree(t, dir)
	for _, link := range [][2]string{{"/dev/zero", ".gitignore"}, {"/dev/zero", "zero/.gitignore"}, {"loop", "loop"}, {"b", "a"}, {"a", "b"}} {
		if err := os.Symlink(link[0], filepath.Join(dir, link[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo/.gitignore"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, ".git/info/exclude"), 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(dir, "big/.gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(2 << 30); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	big.Close()
	// A root .gitignore the walk must still honour, beside the hostile ones:
	// the root's is the symlink, so the rule comes from ok/.gitignore.
	var files []string
	err = hangGuard(t, "Walk", func() error {
		return ws.NewChangeset().Walk(context.Background(), ".", func(rel string, isDir bool) error {
			if !isDir {
				files = append(files, rel)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The 2 GB .gitignore is a regular file: listed, its patterns unread.
	want := []string{"big/.gitignore", "big/y.go", "debug.log", "fifo/x.go", "main.go", "ok/.gitignore", "ok/a.go", "zero/z.go"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("walk listed %q, want %q", files, want)
	}
}

// TestApplySwapRace applies edits below sub/ while another goroutine swaps
// sub between a real folder and a symlink to a folder outside the root.
// Whatever the interleaving, nothing is written, read or removed outside.
func TestApplySwapRace(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"sub/f.txt": "inside\n"})
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"f.txt": "secret\n"})
	sub := filepath.Join(dir, "sub")
	real := filepath.Join(dir, "sub.real")

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			// sub is a folder, then a link out, then a folder again.
			os.Rename(sub, real)
			os.Symlink(outside, sub)
			time.Sleep(time.Microsecond)
			os.Remove(sub)
			os.Rename(real, sub)
			time.Sleep(time.Microsecond)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	tries, applied := 0, 0
	for time.Now().Before(deadline) {
		tries++
		if b, err := ws.ReadFile("sub/f.txt"); err == nil && strings.Contains(string(b), "secret") {
			stop.Store(true)
			t.Fatalf("read %q from outside the root", b)
		}
		// A new name each time: nothing needs cleaning up between tries.
		name := fmt.Sprintf("sub/new-%d.txt", tries)
		create := []FileChange{{Kind: Create, Path: name, NewPath: name, New: []byte("new\n"), Mode: 0o644}}
		if err := ws.ApplyChanges(create); err == nil {
			applied++
		}
		if got := readTree(t, outside); !reflect.DeepEqual(got, map[string]string{"f.txt": "secret\n"}) {
			stop.Store(true)
			t.Fatalf("after %d tries the folder outside the root holds %q", tries, got)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d tries, %d applied", tries, applied)
}

// TestVCSMetadataNeverWritten: reading .git is fine; every way of writing
// into .git, .hg, .jj or .svn, in any case, is refused with a clear error.
func TestVCSMetadataNeverWritten(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{
		".git/config": "[core]\n", ".hg/hgrc": "[hooks]\n", "a.txt": "a\n", "sub/.git": "gitdir: ../x\n",
	})
	before := readTree(t, dir)
	cs := ws.NewChangeset()
	if _, err := cs.ReadFile(".git/config"); err != nil {
		t.Fatalf("reading .git/config: %v", err)
	}
	tests := []struct {
		name string
		run  func() error
	}{
		{"edit .git/config", func() error {
			_, err := cs.WriteFile(".git/config", []byte("[core]\n\tfsmonitor = touch /tmp/pwned\n"))
			return err
		}},
		{"new hook", func() error { _, err := cs.WriteFile(".git/hooks/pre-commit", []byte("#!/bin/sh\n")); return err }},
		{"upper case", func() error { _, err := cs.WriteFile(".GIT/config", []byte("x")); return err }},
		{"hg", func() error { _, err := cs.WriteFile(".hg/hgrc", []byte("x")); return err }},
		{"jj", func() error { _, err := cs.WriteFile(".jj/repo/config.toml", []byte("x")); return err }},
		{"svn", func() error { _, err := cs.WriteFile("sub/.svn/entries", []byte("x")); return err }},
		{"submodule gitfile", func() error { _, err := cs.WriteFile("sub/.git", []byte("gitdir: /tmp\n")); return err }},
		{"delete", func() error { _, err := cs.Remove(".hg/hgrc"); return err }},
		{"move in", func() error { _, _, err := cs.Move("a.txt", ".git/hooks/post-checkout"); return err }},
		{"move out", func() error { _, _, err := cs.Move(".git/config", "config"); return err }},
		{"apply changes", func() error {
			return ws.ApplyChanges([]FileChange{{Kind: Create, Path: ".git/info/attributes", NewPath: ".git/info/attributes", New: []byte("x")}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if !errors.Is(err, ErrVCSMetadata) || !strings.Contains(err.Error(), "never write") {
				t.Fatalf("err = %v, want ErrVCSMetadata", err)
			}
		})
	}
	if _, err := cs.Apply(); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("files changed: %q", got)
	}
}

// TestApplyLongNames edits, creates and renames files whose names are
// near the 255-byte limit: the temporary file beside each must fit too.
func TestApplyLongNames(t *testing.T) {
	long := strings.Repeat("n", 245) + ".txt" // 249 bytes
	ws, dir := newWorkspace(t, map[string]string{long: "old\n", "short.txt": "s\n"})
	cs := ws.NewChangeset()
	write(long, "new\n")(t, cs)
	write(strings.Repeat("c", 250)+".go", "package c\n")(t, cs)
	move("short.txt", strings.Repeat("m", 251))(t, cs)
	if _, err := cs.Apply(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{long: "new\n", strings.Repeat("c", 250) + ".go": "package c\n", strings.Repeat("m", 251): "s\n"}
	if got := readTree(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q", got)
	}
}

// TestApplyRollsBackWrittenChanges makes the last change fail after every
// earlier kind of change (modify, delete, rename, create with a new
// folder) has landed on disk: each is undone, and nothing is left behind.
func TestApplyRollsBackWrittenChanges(t *testing.T) {
	before := map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n", "e.txt": "e\n"}
	ws, dir := newWorkspace(t, before)
	cs := ws.NewChangeset()
	write("a.txt", "A\n")(t, cs)         // modify
	remove("b.txt")(t, cs)               // delete
	move("c.txt", "d.txt")(t, cs)        // rename
	move("e.txt", "f.txt")(t, cs)        // rename
	write("f.txt", "F\n")(t, cs)         // with a content change
	write("new/dir/g.txt", "g\n")(t, cs) // create, with folders
	write("zz.txt", "fails\n")(t, cs)    // the last change
	changes := cs.Changes()
	if last := changes[len(changes)-1]; last.Path != "zz.txt" {
		t.Fatalf("changes end with %s; the test needs zz.txt last", last.Path)
	}
	landed := 0
	testHookBeforeChange = func(i int, ch FileChange) {
		if ch.Path != "zz.txt" {
			return
		}
		landed = i
		// A folder appears where the last file goes: the rename onto it
		// fails after everything before it was written.
		if err := os.Mkdir(filepath.Join(dir, "zz.txt"), 0o755); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { testHookBeforeChange = nil })
	_, err := cs.Apply()
	if err == nil || !strings.Contains(err.Error(), "every file restored") {
		t.Fatalf("Apply err = %v, want a failure with every file restored", err)
	}
	if landed != len(changes)-1 {
		t.Fatalf("the failing change came at %d of %d", landed, len(changes))
	}
	os.Remove(filepath.Join(dir, "zz.txt"))
	if got := readTree(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("after the rollback files = %q, want %q", got, before)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".loom-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if cs.Empty() {
		t.Error("a failed apply emptied the changeset")
	}
}

// TestApplyRefusesHarmfulReplace: replacing a write-protected file, a
// setuid program or a hard-linked file would silently change what the
// user set up; each is refused and nothing is written.
func TestApplyRefusesHarmfulReplace(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, p string)
		stage func(t *testing.T, cs *Changeset)
		want  string
	}{
		{"read-only modify", func(t *testing.T, p string) { chmod(t, p, 0o444) }, write("f.txt", "new\n"), "write-protected"},
		{"read-only delete", func(t *testing.T, p string) { chmod(t, p, 0o444) }, remove("f.txt"), "write-protected"},
		{"setuid", func(t *testing.T, p string) { chmod(t, p, 0o755|os.ModeSetuid) }, write("f.txt", "new\n"), "setuid"},
		{"setgid", func(t *testing.T, p string) { chmod(t, p, 0o755|os.ModeSetgid) }, write("f.txt", "new\n"), "setgid"},
		{"hard link", func(t *testing.T, p string) {
			if err := os.Link(p, filepath.Join(filepath.Dir(p), "twin.txt")); err != nil {
				t.Fatal(err)
			}
		}, write("f.txt", "new\n"), "2 hard links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, dir := newWorkspace(t, map[string]string{"f.txt": "old\n"})
			tt.setup(t, filepath.Join(dir, "f.txt"))
			fiBefore, _ := os.Stat(filepath.Join(dir, "f.txt"))
			before := readTree(t, dir)
			cs := ws.NewChangeset()
			tt.stage(t, cs)
			_, err := cs.Apply()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Fatalf("Apply err = %v, want a refusal naming %q", err, tt.want)
			}
			fiAfter, _ := os.Stat(filepath.Join(dir, "f.txt"))
			if got := readTree(t, dir); !reflect.DeepEqual(got, before) || fiAfter.Mode() != fiBefore.Mode() || !os.SameFile(fiBefore, fiAfter) {
				t.Errorf("the file changed: %q, mode %v -> %v", got, fiBefore.Mode(), fiAfter.Mode())
			}
		})
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestDisguisedNamesRefused: new names with invisible format characters,
// or spelled with other code points than an existing name that reads the
// same, would show in a diff as something they are not.
func TestDisguisedNamesRefused(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{"caf\u00e9.go": "package x\n", "Key.go": "package x\n", "ok/a.go": "package ok\n"})
	tests := []struct {
		name, path, want string
	}{
		{"right-to-left override", "invoice\u202egpj.exe", "U+202E"},
		{"zero-width space", "ma\u200bin.go", "U+200B"},
		{"NFD twin", "cafe\u0301.go", "looks the same"},
		{"Kelvin sign", "\u212aey.go", "looks the same"},
		{"twin folder", "cafe\u0301.go/x.go", "looks the same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := ws.NewChangeset()
			_, err := cs.WriteFile(tt.path, []byte("x\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteFile(%q) err = %v, want %q", tt.path, err, tt.want)
			}
			_, _, err = cs.Move("ok/a.go", tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Move to %q err = %v, want %q", tt.path, err, tt.want)
			}
		})
	}
	// Ordinary non-ASCII names are still fine.
	cs := ws.NewChangeset()
	if _, err := cs.WriteFile("na\u00efve.go", []byte("package x\n")); err != nil {
		t.Errorf("an ordinary accented name was refused: %v", err)
	}
}

// TestPathErrorSaysItOnce: an OS error is named once, with the relative
// path, and still matches its cause.
func TestPathErrorSaysItOnce(t *testing.T) {
	tests := []struct {
		err   error
		want  string
		cause error
	}{
		{&os.PathError{Op: "open", Path: "/abs/a.txt", Err: syscall.EACCES}, "read a.txt: permission denied", os.ErrPermission},
		{&os.PathError{Op: "open", Path: "/abs/a.txt", Err: syscall.ENOENT}, "read a.txt: no such file", os.ErrNotExist},
		{&os.PathError{Op: "open", Path: "/abs/a.txt", Err: syscall.ELOOP}, "read a.txt: too many levels of symbolic links", syscall.ELOOP},
	}
	for _, tt := range tests {
		err := pathError("read", "a.txt", tt.err)
		if err.Error() != tt.want || !errors.Is(err, tt.cause) && tt.cause != syscall.ELOOP {
			t.Errorf("pathError(%v) = %q, want %q matching %v", tt.err, err, tt.want, tt.cause)
		}
	}
}
