package codeindex

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// overlaid lists the files whose text differs from the disk the index is
// built from: staged edits and open editor buffers (true), staged deletions
// (false). Queries read those from the changeset so the model sees its own
// edits.
func overlaid(cs *workspace.Changeset) map[string]bool {
	out := cs.Staged()
	for _, rel := range cs.Workspace().Buffers() {
		if _, staged := out[rel]; !staged {
			out[rel] = true
		}
	}
	return out
}

// Definitions finds where name is defined, as cs sees the workspace: the
// index's answers for the files cs leaves as they are on disk, the files it
// changes parsed from its text. At most limit results, ordered by path and
// position (by score for fuzzy matches without overlaid files).
func (s *Service) Definitions(ctx context.Context, cs *workspace.Changeset, name string, mode analysis.MatchMode, limit int) ([]analysis.Definition, error) {
	ix, err := s.Index(ctx)
	if err != nil {
		return nil, err
	}
	over := overlaid(cs)
	var out []analysis.Definition
	for _, d := range ix.Definitions(name, mode, limit+len(over)) {
		if _, ok := over[d.Path]; !ok {
			out = append(out, d)
		}
	}
	for rel, exists := range over {
		if !exists {
			continue
		}
		src, err := cs.ReadFile(rel)
		if err != nil || analysis.DetectLanguage(rel, src) == "" {
			continue
		}
		syms, err := analysis.Symbols(ctx, rel, src)
		if err != nil {
			continue
		}
		for _, sym := range syms {
			if nameMatches(sym.Name, name, mode) {
				out = append(out, analysis.Definition{Path: rel, Symbol: sym})
			}
		}
	}
	if len(over) > 0 {
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Path != out[j].Path {
				return out[i].Path < out[j].Path
			}
			return out[i].NameRange.Start.Offset < out[j].NameRange.Start.Offset
		})
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// nameMatches matches a symbol of an overlaid file; fuzzy is approximated
// by a case-insensitive substring, which is what matters for a file or two.
func nameMatches(sym, name string, mode analysis.MatchMode) bool {
	switch mode {
	case analysis.MatchExact:
		return sym == name
	case analysis.MatchIgnoreCase:
		return strings.EqualFold(sym, name)
	}
	return strings.Contains(strings.ToLower(sym), strings.ToLower(name))
}

// References finds the syntactic occurrences of name as cs sees the
// workspace, ordered by path and position.
func (s *Service) References(ctx context.Context, cs *workspace.Changeset, name string) ([]analysis.Reference, error) {
	ix, err := s.Index(ctx)
	if err != nil {
		return nil, err
	}
	refs, err := ix.References(ctx, name)
	if err != nil {
		return nil, err
	}
	over := overlaid(cs)
	refs = slices.DeleteFunc(refs, func(r analysis.Reference) bool {
		_, ok := over[r.Path]
		return ok
	})
	for rel, exists := range over {
		if !exists {
			continue
		}
		src, err := cs.ReadFile(rel)
		if err != nil || analysis.DetectLanguage(rel, src) == "" {
			continue
		}
		found, err := analysis.FindReferences(ctx, rel, src, name)
		if err != nil {
			continue
		}
		for i := range found {
			found[i].Path = rel
		}
		refs = append(refs, found...)
	}
	sort.SliceStable(refs, func(i, j int) bool {
		if refs[i].Path != refs[j].Path {
			return refs[i].Path < refs[j].Path
		}
		return refs[i].Range.Start.Offset < refs[j].Range.Start.Offset
	})
	return refs, nil
}

// RepoMap renders the map of the workspace's most important files and
// symbols within a token budget, favouring the files in focus (paths as
// the model gives them; those that do not resolve are left out). The map
// is of the disk: a few staged edits do not move a PageRank.
func (s *Service) RepoMap(ctx context.Context, cs *workspace.Changeset, focus []string, tokens int) (string, error) {
	ix, err := s.Index(ctx)
	if err != nil {
		return "", err
	}
	return ix.RepoMap(analysis.RepoMapOptions{Focus: s.focus(cs, focus), MaxTokens: tokens}), nil
}
