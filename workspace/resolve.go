package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutsideRoot is wrapped by every error that refuses a path because it
// leads outside the workspace root.
var ErrOutsideRoot = errors.New("outside the workspace root")

// maxLinkHops bounds symlink chains, as the kernel's ELOOP does.
const maxLinkHops = 40

// Resolve confines path to the root and returns it relative to the root,
// with forward slashes and every symlink resolved. It refuses NUL bytes,
// ".." escapes, absolute paths elsewhere, prefix twins of the root and
// symlinks that lead outside at any depth, including a dangling link or a
// linked parent folder of a file that does not exist yet. The root itself
// resolves to ".".
func (w *Workspace) Resolve(path string) (string, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", path)
	}
	if path == "" {
		path = "."
	}
	var abs string
	if filepath.IsAbs(path) {
		abs = filepath.Clean(path)
	} else {
		abs = filepath.Join(w.root, filepath.FromSlash(path))
		if !within(w.root, abs) {
			return "", fmt.Errorf("path %s: %w", path, ErrOutsideRoot)
		}
	}
	// An absolute path may name the root as the caller gave it (through a
	// symlinked folder) or as it really is.
	if rel, ok := relTo(w.given, abs); ok && w.given != w.root {
		abs = filepath.Join(w.root, rel)
	}
	if !within(w.root, abs) {
		return "", fmt.Errorf("path %s: %w", path, ErrOutsideRoot)
	}
	real, err := evalExisting(abs, 0)
	if err != nil {
		return "", fmt.Errorf("path %s: %w", path, err)
	}
	rel, ok := relTo(w.root, real)
	if !ok {
		return "", fmt.Errorf("path %s leads through a symlink to %s: %w", path, real, ErrOutsideRoot)
	}
	return filepath.ToSlash(rel), nil
}

// evalExisting resolves the symlinks of the longest existing prefix of abs
// and appends the rest, so a path to a file not yet created is judged by
// where its parent folders really are. A dangling symlink is followed to
// where it would create its target.
func evalExisting(abs string, hops int) (string, error) {
	if hops > maxLinkHops {
		return "", fmt.Errorf("too many levels of symbolic links")
	}
	real, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	fi, lerr := os.Lstat(abs)
	if lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(abs)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			parent, err := evalExisting(filepath.Dir(abs), hops+1)
			if err != nil {
				return "", err
			}
			target = filepath.Join(parent, target)
		}
		return evalExisting(filepath.Clean(target), hops+1)
	}
	parent := filepath.Dir(abs)
	if parent == abs {
		return abs, nil
	}
	realParent, err := evalExisting(parent, hops)
	if err != nil {
		return "", err
	}
	return filepath.Join(realParent, filepath.Base(abs)), nil
}

// within reports whether path is root or below it, comparing whole path
// elements so that /a/proj2 is not inside /a/proj.
func within(root, path string) bool {
	_, ok := relTo(root, path)
	return ok
}

// relTo returns path relative to root when path is root or inside it.
func relTo(root, path string) (string, bool) {
	if path == root {
		return ".", true
	}
	prefix := root
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if !strings.HasPrefix(path, prefix) {
		return "", false
	}
	return path[len(prefix):], true
}
