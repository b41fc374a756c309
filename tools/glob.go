package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/loom-agent/loom/workspace"
)

// globMaxResults caps glob's listing: enough to see a tree's shape, small
// enough not to flood a model's context.
const globMaxResults = 1000

// Glob finds files by a doublestar pattern, honouring .gitignore.
type Glob struct{}

type globArgs struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path,omitempty"`
}

// GlobData is glob's structured result.
type GlobData struct {
	// Files are workspace-relative paths, sorted; at most globMaxResults.
	Files []string `json:"files"`
	// Total counts every matching file, also those not listed.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated"`
}

func (Glob) Spec() Spec {
	return Spec{
		Name: "glob",
		Description: "Find files whose path matches a glob pattern, e.g. `**/*.go`, `cmd/**/main.go`, `src/*.{ts,tsx}`. " +
			"The pattern is matched against paths relative to `path` (default: the workspace root): " +
			"`*` and `?` stay within one folder, `**` spans any number of folders, `[abc]` and `{a,b}` work as in a shell, " +
			"so `*.go` lists only the top folder's Go files while `**/*.go` finds them at any depth. " +
			"Returns workspace-relative file paths (not folders), sorted, at most 1000; " +
			"files ignored by .gitignore and the .git folder are skipped; files created in this session's staged edits are included.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"pattern":{"type":"string","description":"doublestar glob matched against file paths relative to path, e.g. **/*_test.go"},
"path":{"type":"string","description":"folder to search, relative to the workspace root (default: the root)"}},
"required":["pattern"],"additionalProperties":false}`),
		Effect:     EffectSearch,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

func (Glob) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a globArgs
	if err := decodeArgs("glob", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("glob", "pattern", a.Pattern); err != nil {
		return Result{}, err
	}
	base, err := env.Workspace().Resolve(a.Path)
	if err != nil {
		return Result{}, err
	}
	f, err := newGlobFilter("glob", a.Pattern, base, false)
	if err != nil {
		return Result{}, err
	}
	files := []string{} // JSON [] rather than null when nothing matches
	err = env.Changes.Walk(ctx, base, func(rel string, isDir bool) error {
		if isDir {
			if f.skipDir(rel) {
				return workspace.SkipDir
			}
			return nil
		}
		if f.match(rel) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	// The walk lists staged creations last; sorting restores one order.
	slices.SortFunc(files, comparePaths)
	data := GlobData{Files: files, Total: len(files)}
	if len(files) > globMaxResults {
		data.Files, data.Truncated = files[:globMaxResults], true
	}
	var b strings.Builder
	for _, p := range data.Files {
		b.WriteString(p)
		b.WriteByte('\n')
	}
	switch {
	case data.Total == 0:
		fmt.Fprintf(&b, "No files match %s under %s.", a.Pattern, displayDir(base))
	case data.Truncated:
		fmt.Fprintf(&b, "(showing the first %d of %d matching files; narrow the pattern or path)", globMaxResults, data.Total)
	}
	return Result{Text: b.String(), Data: data}, nil
}

// displayDir names a workspace folder for messages.
func displayDir(rel string) string {
	if rel == "." {
		return "the workspace root"
	}
	return rel
}

// globFilter matches workspace paths against a doublestar pattern taken
// relative to a base folder, and tells the walk which folders cannot hold a
// match so that it need not descend into them.
type globFilter struct {
	pattern string
	base    string // the walk's folder, "." for the root
	// byName: a pattern without a slash also matches a file's name at any
	// depth, as ripgrep's and gitignore's globs do (grep's filter only).
	byName bool
	// static is the pattern's leading folders without metacharacters
	// ("cmd/loom" for "cmd/loom/**/*.go"); only folders on that way can match.
	static string
	// maxDepth is the number of path elements a match has when the pattern
	// has no ** (and no braces, whose alternatives may differ); 0 if unbounded.
	maxDepth int
}

func newGlobFilter(tool, pattern, base string, byName bool) (*globFilter, error) {
	for strings.HasPrefix(pattern, "./") {
		pattern = pattern[2:]
	}
	if strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("invalid arguments for %s: glob %q must be relative to the searched folder, not start with /", tool, pattern)
	}
	if !doublestar.ValidatePattern(pattern) {
		return nil, fmt.Errorf("invalid arguments for %s: bad glob pattern %q (unclosed [ or {, or a trailing \\)", tool, pattern)
	}
	f := &globFilter{pattern: pattern, base: base, byName: byName && !strings.Contains(pattern, "/")}
	if !f.byName {
		if static, _ := doublestar.SplitPattern(pattern); static != "." {
			f.static = static
		}
		if !strings.Contains(pattern, "**") && !strings.ContainsAny(pattern, "{\\") {
			f.maxDepth = strings.Count(pattern, "/") + 1
		}
	}
	return f, nil
}

// relToBase returns a workspace path relative to the filter's base folder.
func (f *globFilter) relToBase(rel string) string {
	if f.base == "." {
		return rel
	}
	if rel == f.base {
		return path.Base(rel)
	}
	return strings.TrimPrefix(rel, f.base+"/")
}

// match reports whether the file rel (workspace-relative) matches.
func (f *globFilter) match(rel string) bool {
	r := f.relToBase(rel)
	if doublestar.MatchUnvalidated(f.pattern, r) {
		return true
	}
	return f.byName && doublestar.MatchUnvalidated(f.pattern, path.Base(r))
}

// skipDir reports whether no file below the folder rel can match.
func (f *globFilter) skipDir(rel string) bool {
	if rel == f.base || f.byName {
		return false
	}
	r := f.relToBase(rel)
	if f.maxDepth > 0 && strings.Count(r, "/")+1 >= f.maxDepth {
		return true
	}
	if f.static == "" {
		return false
	}
	// On the way to static, at it, or inside it.
	return !(strings.HasPrefix(f.static, r+"/") || r == f.static || strings.HasPrefix(r, f.static+"/"))
}

// Title says what one call does, for front ends to show.
func (Glob) Title(args json.RawMessage) string {
	a := titleArgs(args)
	return fmt.Sprintf("Find files matching %s in %s", quoteTitle(str(a, "pattern", "")), str(a, "path", "."))
}
