package workspace

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// ConflictError refuses an apply because a file changed on disk since the
// content its change was made against.
type ConflictError struct {
	Path   string
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict: %s %s; nothing was written", e.Path, e.Reason)
}

// Apply writes the staged changes to disk, all or nothing. Every base is
// checked first: if any file changed on disk since its change was made,
// Apply returns a *ConflictError naming it and writes nothing. Each file is
// written atomically (a temporary file renamed over it, its mode kept); if
// a later step fails, the files already written are restored. On success
// the changeset is emptied and the applied changes are returned.
func (c *Changeset) Apply() ([]FileChange, error) {
	changes := c.Changes()
	if err := c.ws.ApplyChanges(changes); err != nil {
		return nil, err
	}
	c.Discard()
	return changes, nil
}

// ApplyChanges writes file changes to disk with the guarantees of Apply.
// Every read, write, rename and removal goes through the workspace's
// os.Root, so a folder swapped for a symlink at any moment cannot lead a
// write, a rollback or a base check outside the root.
func (w *Workspace) ApplyChanges(changes []FileChange) error {
	// Confinement is checked again: links may have changed since staging.
	for _, ch := range changes {
		for _, p := range []string{ch.Path, ch.NewPath} {
			rel, err := w.Resolve(p)
			if err != nil {
				return err
			}
			if rel != p {
				return fmt.Errorf("apply %s: path now resolves to %s; stage the change again", p, rel)
			}
			if err := checkNotVCS("apply", rel); err != nil {
				return err
			}
		}
	}
	if err := w.checkBases(changes); err != nil {
		return err
	}
	var undo []func() error
	rollback := func(cause error) error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			if err := undo[i](); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("apply failed (%w) and restoring failed too: %v", cause, errors.Join(errs...))
		}
		return fmt.Errorf("apply failed, every file restored: %w", cause)
	}
	for i, ch := range changes {
		if testHookBeforeChange != nil {
			testHookBeforeChange(i, ch)
		}
		steps, err := w.applyOne(ch)
		undo = append(undo, steps...)
		if err != nil {
			return rollback(err)
		}
	}
	return nil
}

// testHookBeforeChange, set only by tests, runs before each change is
// written: it lets a test disturb the disk after earlier changes landed,
// the one moment a rollback matters.
var testHookBeforeChange func(i int, ch FileChange)

// checkBases refuses the apply when any file on disk differs from the base
// of its change, or is one that replacing would harm without a word: a
// write-protected file, a setuid or setgid program, a file with other hard
// links (an atomic replace gives it a new inode, so the other names would
// keep the old content).
func (w *Workspace) checkBases(changes []FileChange) error {
	root := w.fsys.OS()
	for _, ch := range changes {
		switch ch.Kind {
		case Create:
			if _, err := root.Lstat(ch.Path); err == nil {
				return &ConflictError{Path: ch.Path, Reason: "was created on disk since the change was made"}
			}
		default:
			disk, err := w.fsys.ReadFile(ch.Path, w.maxBytes)
			if errors.Is(err, fs.ErrNotExist) {
				return &ConflictError{Path: ch.Path, Reason: "was deleted on disk since the change was made"}
			}
			if err != nil {
				return pathError("apply", ch.Path, err)
			}
			if Hash(disk) != ch.BaseHash {
				return &ConflictError{Path: ch.Path, Reason: "changed on disk since the change was made"}
			}
			fi, err := root.Lstat(ch.Path)
			if err != nil {
				return pathError("apply", ch.Path, err)
			}
			rewrites := ch.Kind == Modify || ch.Kind == Rename && !bytes.Equal(ch.Old, ch.New)
			if err := checkReplaceable(ch.Path, fi, rewrites); err != nil {
				return err
			}
		}
		if ch.Kind == Rename {
			if _, err := root.Lstat(ch.NewPath); err == nil {
				return &ConflictError{Path: ch.NewPath, Reason: "exists on disk, so the rename would overwrite it"}
			}
		}
	}
	return nil
}

// checkReplaceable refuses to remove or rename a write-protected file, and
// to rewrite a setuid or setgid file or one with several hard links.
func checkReplaceable(rel string, fi fs.FileInfo, rewrites bool) error {
	if fi.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("apply %s: the file is write-protected (mode %04o); make it writable first if the change is wanted; nothing was written", rel, fi.Mode().Perm())
	}
	if !rewrites {
		return nil
	}
	if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		return fmt.Errorf("apply %s: the file is setuid or setgid; Loom does not rewrite such programs; nothing was written", rel)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return fmt.Errorf("apply %s: the file has %d hard links, which replacing it would break; nothing was written", rel, st.Nlink)
	}
	return nil
}

// applyOne performs one change and returns the steps that undo what it did.
func (w *Workspace) applyOne(ch FileChange) ([]func() error, error) {
	root := w.fsys.OS()
	src, dst := ch.Path, ch.NewPath
	var undo []func() error
	switch ch.Kind {
	case Create, Modify:
		made, err := w.mkdirs(path.Dir(dst))
		undo = append(undo, made...)
		if err != nil {
			return undo, pathError("create folder for", dst, err)
		}
		if err := w.writeAtomic(dst, ch.New, ch.Mode); err != nil {
			return undo, pathError("write", dst, err)
		}
		if ch.Kind == Create {
			undo = append(undo, func() error { return root.Remove(dst) })
		} else {
			undo = append(undo, func() error { return w.writeAtomic(dst, ch.Old, ch.Mode) })
		}
	case Delete:
		if err := root.Remove(src); err != nil {
			return undo, pathError("delete", src, err)
		}
		undo = append(undo, func() error { return w.writeAtomic(src, ch.Old, ch.Mode) })
	case Rename:
		made, err := w.mkdirs(path.Dir(dst))
		undo = append(undo, made...)
		if err != nil {
			return undo, pathError("create folder for", dst, err)
		}
		if bytes.Equal(ch.Old, ch.New) {
			if err := root.Rename(src, dst); err != nil {
				return undo, pathError("rename", src, err)
			}
			return append(undo, func() error { return root.Rename(dst, src) }), nil
		}
		if err := w.writeAtomic(dst, ch.New, ch.Mode); err != nil {
			return undo, pathError("write", dst, err)
		}
		undo = append(undo, func() error { return root.Remove(dst) })
		if err := root.Remove(src); err != nil {
			return undo, pathError("rename", src, err)
		}
		undo = append(undo, func() error { return w.writeAtomic(src, ch.Old, ch.Mode) })
	default:
		return undo, fmt.Errorf("apply %s: unknown change kind %q", ch.Path, ch.Kind)
	}
	return undo, nil
}

// mkdirs creates the folder rel and its missing parents, returning steps
// that remove the folders it made, deepest first when run in reverse.
func (w *Workspace) mkdirs(rel string) ([]func() error, error) {
	root := w.fsys.OS()
	var missing []string
	for d := rel; d != "." && d != "/"; d = path.Dir(d) {
		if _, err := root.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	var undo []func() error
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := root.Mkdir(d, 0o755); err != nil {
			return undo, err
		}
		undo = append(undo, func() error { return root.Remove(d) })
	}
	return undo, nil
}

// writeAtomic writes data to a temporary file beside rel and renames it
// over rel, so readers see the old content or the new, never a mix. The
// temporary name is short whatever rel's is: a file whose own name is near
// the 255-byte limit must still be writable.
func (w *Workspace) writeAtomic(rel string, data []byte, mode fs.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	root := w.fsys.OS()
	tmp, name, err := createTemp(root, path.Dir(rel))
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		root.Remove(name)
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(mode.Perm()); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		root.Remove(name)
		return err
	}
	if err := root.Rename(name, rel); err != nil {
		root.Remove(name)
		return err
	}
	return nil
}

// createTemp creates a new file with a random short name in the folder dir
// of root, as os.CreateTemp does outside a root.
func createTemp(root *os.Root, dir string) (*os.File, string, error) {
	for try := 0; ; try++ {
		name := path.Join(dir, ".loom-"+rand.Text()[:12]+".tmp")
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, name, err
	}
}

// vcsFolders hold version-control metadata. Its config can name commands
// that git, hg or jj run by themselves (core.fsmonitor, hooks), so the
// agent's tools read it but never write it.
var vcsFolders = []string{".git", ".hg", ".jj", ".svn"}

// checkNotVCS refuses a path inside version-control metadata. Names are
// compared without case: on a case-insensitive disk .GIT is .git.
func checkNotVCS(op, rel string) error {
	for elem := range strings.SplitSeq(rel, "/") {
		for _, vcs := range vcsFolders {
			if strings.EqualFold(elem, vcs) {
				return fmt.Errorf("%s %s: %w", op, rel, ErrVCSMetadata)
			}
		}
	}
	return nil
}

// ErrVCSMetadata is wrapped by every error that refuses to write inside
// .git, .hg, .jj or .svn.
var ErrVCSMetadata = errors.New("is version-control metadata, which Loom's tools read but never write")
