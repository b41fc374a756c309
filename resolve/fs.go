package resolve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FS reads the files resolution needs, by absolute path.
type FS interface {
	ReadFile(path string) ([]byte, error)
	ReadDir(dir string) ([]fs.DirEntry, error)
}

// MaxFileSize bounds a file the resolver reads: larger ones (generated
// tables) are skipped as if absent.
const MaxFileSize = 8 << 20

// RootsFS reads beneath a fixed set of roots only (the workspace, GOROOT,
// the module cache), each through an os.Root, so that a path in a hostile
// go.mod or import cannot lead elsewhere.
type RootsFS struct {
	roots []*os.Root
}

// NewRootsFS opens the roots that exist; others are left out.
func NewRootsFS(dirs ...string) *RootsFS {
	r := &RootsFS{}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if root, err := os.OpenRoot(d); err == nil {
			r.roots = append(r.roots, root)
		}
	}
	return r
}

// Close releases the roots.
func (r *RootsFS) Close() error {
	for _, root := range r.roots {
		root.Close()
	}
	return nil
}

// find returns the root holding path and the path relative to it.
func (r *RootsFS) find(path string) (*os.Root, string, error) {
	for _, root := range r.roots {
		rel, err := filepath.Rel(root.Name(), path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return root, rel, nil
		}
	}
	return nil, "", fmt.Errorf("%s: %w", path, fs.ErrNotExist)
}

// ReadFile reads a regular file of at most MaxFileSize bytes.
func (r *RootsFS) ReadFile(path string) ([]byte, error) {
	root, rel, err := r.find(path)
	if err != nil {
		return nil, err
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, errors.New(path + ": grew past the size limit")
	}
	return b, nil
}

// ReadDir lists a folder.
func (r *RootsFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	root, rel, err := r.find(dir)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(root.FS(), filepath.ToSlash(rel))
}
