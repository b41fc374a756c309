package workspace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/loom-agent/loom/internal/beneath"
)

// SkipDir, returned by a WalkFunc for a folder, skips that folder.
var SkipDir = fs.SkipDir

// WalkFunc is called for every file and folder a walk visits, with its
// path relative to the root in forward slashes. Folders are visited before
// their contents.
type WalkFunc func(rel string, isDir bool) error

// Walk visits the files below dir (relative to the root) in lexical order,
// as the changeset sees them: files staged for creation are included and
// files staged for deletion are not. It skips .git and everything that the
// .gitignore files (of dir, of its parents up to the root, and of
// .git/info/exclude) ignore. Symlinks are not followed.
func (c *Changeset) Walk(ctx context.Context, dir string, fn WalkFunc) error {
	staged := c.Staged()
	base, err := c.ws.Resolve(dir)
	if err != nil {
		return err
	}
	if exists, ok := staged[base]; ok && !exists {
		return fmt.Errorf("walk %s: no such file (deleted in this changeset): %w", base, fs.ErrNotExist)
	}
	seen := map[string]bool{}
	// A file or folder created only in the changeset has nothing on disk to
	// walk; its staged files are visited below.
	if _, onDisk, serr := c.ws.statDisk(base); onDisk || serr != nil || !createdAt(staged, base) {
		err := c.ws.walk(ctx, base, func(rel string, isDir bool) error {
			// Without staged edits there is nothing to filter or add: skip the
			// bookkeeping, which large trees would pay for every file.
			if !isDir && len(staged) > 0 {
				if exists, ok := staged[rel]; ok && !exists {
					return nil
				}
				seen[rel] = true
			}
			return fn(rel, isDir)
		})
		if err != nil {
			return err
		}
	}
	var created []string
	for rel, exists := range staged {
		if exists && !seen[rel] && (rel == base || under(base, rel)) {
			created = append(created, rel)
		}
	}
	sort.Strings(created)
	for _, rel := range created {
		if err := fn(rel, false); err != nil && !errors.Is(err, SkipDir) {
			return err
		}
	}
	return nil
}

// createdAt reports whether the changeset creates base or a file below it.
func createdAt(staged map[string]bool, base string) bool {
	for rel, exists := range staged {
		if exists && (rel == base || under(base, rel)) {
			return true
		}
	}
	return false
}

// under reports whether rel is inside the folder base ("." is the root).
func under(base, rel string) bool {
	return base == "." || strings.HasPrefix(rel, base+"/")
}

// walk visits the disk below dir, honouring .gitignore.
func (w *Workspace) walk(ctx context.Context, dir string, fn WalkFunc) error {
	base, err := w.Resolve(dir)
	if err != nil {
		return err
	}
	fi, err := w.fsys.OS().Stat(base)
	if err != nil {
		return pathError("walk", base, err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("walk %s: is %s: %w", base, beneath.Describe(fi.Mode()), ErrNotRegular)
		}
		return fn(base, false)
	}
	// Patterns of the folders above base apply inside it too.
	patterns := w.readIgnore(".git/info/exclude", nil)
	if base != "." {
		parts := strings.Split(base, "/")
		for i := 0; i < len(parts); i++ {
			patterns = append(patterns, w.readIgnore(path.Join(append(parts[:i:i], ".gitignore")...), parts[:i])...)
		}
	}
	err = w.walkDir(ctx, base, patterns, fn)
	if errors.Is(err, SkipDir) {
		return nil
	}
	return err
}

func (w *Workspace) walkDir(ctx context.Context, rel string, patterns []gitignore.Pattern, fn WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fn(rel, true); err != nil {
		return err
	}
	var domain []string
	if rel != "." {
		domain = strings.Split(rel, "/")
	}
	entries, err := w.readDir(rel)
	if err != nil {
		return nil // an unreadable folder is skipped, as git and ripgrep do
	}
	// Most folders have no .gitignore: look for one among the entries
	// rather than trying to open it in each.
	for _, e := range entries {
		if e.Name() == ".gitignore" {
			patterns = append(patterns[:len(patterns):len(patterns)], w.readIgnore(path.Join(rel, ".gitignore"), domain)...)
			break
		}
	}
	matcher := gitignore.NewMatcher(patterns)
	for _, e := range entries {
		name := e.Name()
		if name == ".git" {
			continue
		}
		child := name
		if rel != "." {
			child = rel + "/" + name
		}
		isDir := e.IsDir()
		// Symlinks are not followed; FIFOs, sockets and devices are not
		// files to read.
		if e.Type()&fs.ModeSymlink != 0 || beneath.Special(e.Type()) {
			continue
		}
		if len(patterns) > 0 && matcher.Match(append(domain[:len(domain):len(domain)], name), isDir) {
			continue
		}
		if isDir {
			err := w.walkDir(ctx, child, patterns, fn)
			if errors.Is(err, SkipDir) {
				continue
			}
			if err != nil {
				return err
			}
			continue
		}
		if err := fn(child, false); err != nil {
			if errors.Is(err, SkipDir) {
				return nil
			}
			return err
		}
	}
	return nil
}

// maxIgnoreSize caps an ignore file; a larger one is not a list of
// patterns anyone wrote, and is skipped.
const maxIgnoreSize = 1 << 20

// readIgnore parses one ignore file; a missing, unreadable, irregular or
// oversized file has no patterns.
func (w *Workspace) readIgnore(rel string, domain []string) []gitignore.Pattern {
	b, err := w.fsys.ReadFile(rel, maxIgnoreSize)
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxIgnoreSize+1)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// readDir lists a folder in lexical order, through the root.
func (w *Workspace) readDir(rel string) ([]fs.DirEntry, error) {
	f, err := w.fsys.OpenDir(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, err
}
