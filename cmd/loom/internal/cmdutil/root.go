package cmdutil

import (
	"os"
	"path/filepath"
)

// RepositoryRoot is the repository around dir: the nearest folder at or
// above it that holds .git (a folder, or a worktree's file), as git finds
// its top level; dir itself when there is none.
func RepositoryRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return abs
		}
	}
}
