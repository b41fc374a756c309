package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	for _, ch := range changes {
		steps, err := w.applyOne(ch)
		undo = append(undo, steps...)
		if err != nil {
			return rollback(err)
		}
	}
	return nil
}

// checkBases refuses the apply when any file on disk differs from the base
// of its change.
func (w *Workspace) checkBases(changes []FileChange) error {
	for _, ch := range changes {
		switch ch.Kind {
		case Create:
			if _, err := os.Lstat(w.Abs(ch.Path)); err == nil {
				return &ConflictError{Path: ch.Path, Reason: "was created on disk since the change was made"}
			}
		default:
			disk, err := os.ReadFile(w.Abs(ch.Path))
			if errors.Is(err, fs.ErrNotExist) {
				return &ConflictError{Path: ch.Path, Reason: "was deleted on disk since the change was made"}
			}
			if err != nil {
				return pathError("apply", ch.Path, err)
			}
			if Hash(disk) != ch.BaseHash {
				return &ConflictError{Path: ch.Path, Reason: "changed on disk since the change was made"}
			}
		}
		if ch.Kind == Rename {
			if _, err := os.Lstat(w.Abs(ch.NewPath)); err == nil {
				return &ConflictError{Path: ch.NewPath, Reason: "exists on disk, so the rename would overwrite it"}
			}
		}
	}
	return nil
}

// applyOne performs one change and returns the steps that undo what it did.
func (w *Workspace) applyOne(ch FileChange) ([]func() error, error) {
	src, dst := w.Abs(ch.Path), w.Abs(ch.NewPath)
	var undo []func() error
	switch ch.Kind {
	case Create, Modify:
		made, err := mkdirs(filepath.Dir(dst))
		undo = append(undo, made...)
		if err != nil {
			return undo, pathError("create folder for", ch.NewPath, err)
		}
		if err := writeAtomic(dst, ch.New, ch.Mode); err != nil {
			return undo, pathError("write", ch.NewPath, err)
		}
		if ch.Kind == Create {
			undo = append(undo, func() error { return os.Remove(dst) })
		} else {
			undo = append(undo, func() error { return writeAtomic(dst, ch.Old, ch.Mode) })
		}
	case Delete:
		if err := os.Remove(src); err != nil {
			return undo, pathError("delete", ch.Path, err)
		}
		undo = append(undo, func() error { return writeAtomic(src, ch.Old, ch.Mode) })
	case Rename:
		made, err := mkdirs(filepath.Dir(dst))
		undo = append(undo, made...)
		if err != nil {
			return undo, pathError("create folder for", ch.NewPath, err)
		}
		if bytes.Equal(ch.Old, ch.New) {
			if err := os.Rename(src, dst); err != nil {
				return undo, pathError("rename", ch.Path, err)
			}
			return append(undo, func() error { return os.Rename(dst, src) }), nil
		}
		if err := writeAtomic(dst, ch.New, ch.Mode); err != nil {
			return undo, pathError("write", ch.NewPath, err)
		}
		undo = append(undo, func() error { return os.Remove(dst) })
		if err := os.Remove(src); err != nil {
			return undo, pathError("rename", ch.Path, err)
		}
		undo = append(undo, func() error { return writeAtomic(src, ch.Old, ch.Mode) })
	default:
		return undo, fmt.Errorf("apply %s: unknown change kind %q", ch.Path, ch.Kind)
	}
	return undo, nil
}

// mkdirs creates dir and its missing parents, returning steps that remove
// the folders it made, deepest first when run in reverse.
func mkdirs(dir string) ([]func() error, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var undo []func() error
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, 0o755); err != nil {
			return undo, err
		}
		undo = append(undo, func() error { return os.Remove(d) })
	}
	return undo, nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path, so readers see the old content or the new, never a mix.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".loom-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
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
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
