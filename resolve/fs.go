package resolve

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/loom-agent/loom/internal/beneath"
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
// the module cache), through internal/beneath: a path in a hostile go.mod
// or import cannot lead elsewhere, and a FIFO or a device is refused before
// a byte is read.
type RootsFS struct {
	roots []*beneath.Root
	dirs  []string
}

// NewRootsFS opens the roots that exist; others are left out.
func NewRootsFS(dirs ...string) *RootsFS {
	r := &RootsFS{}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if root, err := beneath.Open(d); err == nil {
			r.roots = append(r.roots, root)
			r.dirs = append(r.dirs, filepath.Clean(d))
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
func (r *RootsFS) find(path string) (*beneath.Root, string, error) {
	for i, root := range r.roots {
		rel, err := filepath.Rel(r.dirs[i], path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return root, filepath.ToSlash(rel), nil
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
	return root.ReadFile(rel, MaxFileSize)
}

// ReadDir lists a folder.
func (r *RootsFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	root, rel, err := r.find(dir)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(root.OS().FS(), rel)
}
