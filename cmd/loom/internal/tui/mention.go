package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sahilm/fuzzy"
)

// maxMentionFiles bounds the files a completion walk collects: past it the
// completion offers what it found.
const maxMentionFiles = 50_000

// errEnough ends a walk that collected enough.
var errEnough = errors.New("enough files")

// Files are the workspace's files for @ completion, as the changeset sees
// them (.gitignore honoured, staged files included), at most
// maxMentionFiles of them.
func (c *Conversation) Files(ctx context.Context) []string {
	var files []string
	err := c.changes.Walk(ctx, ".", func(rel string, isDir bool) error {
		if !isDir {
			files = append(files, rel)
		}
		if len(files) >= maxMentionFiles {
			return errEnough
		}
		return nil
	})
	_ = err // a walk cut short offers what it found
	return files
}

// CompleteMention is the files that pattern fuzzily matches, best first,
// at most n.
func CompleteMention(files []string, pattern string, n int) []string {
	if pattern == "" {
		return files[:min(n, len(files))]
	}
	matches := fuzzy.Find(pattern, files)
	// Best first; among equals the shorter path, which is likelier meant.
	slices.SortStableFunc(matches, func(a, b fuzzy.Match) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return len(a.Str) - len(b.Str)
	})
	out := make([]string, 0, min(n, len(matches)))
	for _, m := range matches[:min(n, len(matches))] {
		out = append(out, m.Str)
	}
	return out
}

// Mentions adds the files the input's @path words name to the focus, each
// confined to the workspace; it says which it added and refuses the rest
// with the reason. The words stay in the instruction as written.
func (c *Conversation) Mentions(input string) (added []string, errs []error) {
	for _, w := range strings.Fields(input) {
		if !strings.HasPrefix(w, "@") || len(w) == 1 {
			continue
		}
		p := strings.TrimRight(strings.TrimPrefix(w, "@"), ".,;:!?)")
		rel, err := c.ws.Resolve(p)
		if err == nil {
			var ok bool
			if ok, err = c.changes.Exists(rel); err == nil && !ok {
				err = fmt.Errorf("%s: no such file in the workspace", p)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(c.focus, rel) {
			c.focus = append(c.focus, rel)
			added = append(added, rel)
		}
	}
	return added, errs
}
