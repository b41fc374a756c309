package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/loom-agent/loom/workspace"
)

const (
	listDirMaxDepth   = 5
	listDirMaxEntries = 1000
)

// ListDir lists a folder's files and subfolders, honouring .gitignore.
type ListDir struct{}

type listDirArgs struct {
	Path  string `json:"path,omitempty"`
	Depth *int   `json:"depth,omitempty"`
}

// DirEntry is one listed file or folder.
type DirEntry struct {
	// Path is relative to the listed folder; a folder's ends with "/".
	Path string `json:"path"`
	Dir  bool   `json:"dir,omitempty"`
	Size int64  `json:"size"` // bytes, as the changeset sees the file; 0 for folders
}

// ListDirData is list_dir's structured result.
type ListDirData struct {
	Path    string     `json:"path"` // the listed folder, workspace-relative
	Entries []DirEntry `json:"entries"`
	// Total counts every entry within the depth, also those not listed.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated"`
}

func (ListDir) Spec() Spec {
	return Spec{
		Name: "list_dir",
		Description: "List the files and folders in a workspace folder, one per line, with paths relative to that folder: " +
			"folders end with `/`, files show their size. " +
			"depth 1 (the default) lists only the folder's own entries; up to 5 descends that many levels. " +
			"Skips .git and whatever .gitignore ignores; includes files created and hides files deleted by this session's staged edits. " +
			"At most 1000 entries are listed; list a subfolder or lower depth for the rest. Use glob to find files by name pattern.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"folder to list, relative to the workspace root (default: the root)"},
"depth":{"type":"integer","minimum":1,"maximum":5,"description":"levels to descend; 1 lists only the folder's entries (default 1)"}},
"additionalProperties":false}`),
		Effect:     EffectSearch,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

func (ListDir) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a listDirArgs
	if err := decodeArgs("list_dir", raw, &a); err != nil {
		return Result{}, err
	}
	depth := 1
	if a.Depth != nil {
		if *a.Depth < 1 {
			return Result{}, fmt.Errorf("invalid arguments for list_dir: depth must be at least 1, got %d", *a.Depth)
		}
		depth = min(*a.Depth, listDirMaxDepth)
	}
	ws := env.Workspace()
	base, err := ws.Resolve(a.Path)
	if err != nil {
		return Result{}, err
	}
	f := &globFilter{base: base} // only for relToBase
	entries := map[string]bool{} // path relative to base -> is a folder
	err = env.Changes.Walk(ctx, base, func(rel string, isDir bool) error {
		if rel == base {
			if !isDir {
				return fmt.Errorf("list_dir %s: is a file, not a folder; use read_file to read it", rel)
			}
			return nil
		}
		r := f.relToBase(rel)
		parts := strings.Split(r, "/")
		// Staged files come without their folders, which may not exist on
		// disk yet: list every folder on the way that is within the depth.
		for i := 1; i < len(parts) && i <= depth; i++ {
			entries[strings.Join(parts[:i], "/")] = true
		}
		if len(parts) <= depth {
			entries[r] = isDir
		}
		if isDir && len(parts) >= depth {
			return workspace.SkipDir
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	paths := make([]string, 0, len(entries))
	for p, isDir := range entries {
		if isDir {
			p += "/"
		}
		paths = append(paths, p)
	}
	// With the slash, each folder's contents sort right after it.
	slices.SortFunc(paths, comparePaths)
	data := ListDirData{Path: base, Entries: []DirEntry{}, Total: len(paths)}
	if len(paths) > listDirMaxEntries {
		paths, data.Truncated = paths[:listDirMaxEntries], true
	}
	staged := env.Changes.Staged()
	var b strings.Builder
	for _, p := range paths {
		e := DirEntry{Path: p, Dir: strings.HasSuffix(p, "/")}
		b.WriteString(p)
		if !e.Dir {
			rel := p
			if base != "." {
				rel = base + "/" + p
			}
			e.Size = listDirSize(env.Changes, ws, staged, rel)
			b.WriteString("  (")
			b.WriteString(humanSize(e.Size))
			b.WriteByte(')')
		}
		b.WriteByte('\n')
		data.Entries = append(data.Entries, e)
	}
	switch {
	case data.Total == 0:
		fmt.Fprintf(&b, "%s is empty (or holds only ignored files).", displayDir(base))
	case data.Truncated:
		fmt.Fprintf(&b, "(showing the first %d of %d entries; list a subfolder or use a lower depth)", listDirMaxEntries, data.Total)
	}
	return Result{Text: b.String(), Data: data}, nil
}

// listDirSize is a file's size as the changeset sees it: staged content,
// then an open buffer, then the disk.
func listDirSize(cs *workspace.Changeset, ws *workspace.Workspace, staged map[string]bool, rel string) int64 {
	if _, ok := staged[rel]; ok {
		if b, err := cs.ReadFile(rel); err == nil {
			return int64(len(b))
		}
	}
	if n, ok := ws.BufferSize(rel); ok {
		return int64(n)
	}
	fi, err := os.Lstat(ws.Abs(rel))
	if err != nil {
		return 0 // gone since the walk saw it
	}
	return fi.Size()
}

// humanSize renders a byte count the way people read them.
func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}

// Title says what one call does, for front ends to show.
func (ListDir) Title(args json.RawMessage) string {
	return "List " + str(titleArgs(args), "path", ".")
}
