package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// IndexFiles lists the files below dir that analysis understands, as the
// changeset sees them (honouring .gitignore).
func IndexFiles(ctx context.Context, cs *workspace.Changeset, dir string) ([]string, error) {
	var files []string
	err := cs.Walk(ctx, dir, func(rel string, isDir bool) error {
		if !isDir {
			if _, ok := analysis.LanguageForPath(rel); ok {
				files = append(files, rel)
			}
		}
		return nil
	})
	return files, err
}

// BuildIndex builds (or refreshes from its disk cache) the symbol index of
// the workspace's supported files below dir.
func BuildIndex(ctx context.Context, cs *workspace.Changeset, dir string, opts analysis.Options) (*analysis.Index, error) {
	files, err := IndexFiles(ctx, cs, dir)
	if err != nil {
		return nil, err
	}
	return analysis.BuildIndex(ctx, cs.Workspace().Root(), files, opts)
}

// overlaid lists the files whose text differs from the disk the index was
// built from: staged edits and open editor buffers. The analysis tools read
// those from the changeset so the model sees its own edits.
func overlaid(cs *workspace.Changeset) map[string]bool {
	out := cs.Staged()
	for _, rel := range cs.Workspace().Buffers() {
		if _, staged := out[rel]; !staged {
			out[rel] = true
		}
	}
	return out
}

// RepoMap renders the map of the workspace's most important files and
// symbols within a token budget, favouring the files in focus.
func RepoMap(ctx context.Context, cs *workspace.Changeset, focus []string, tokens int) (string, error) {
	ix, err := BuildIndex(ctx, cs, ".", analysis.Options{})
	if err != nil {
		return "", err
	}
	rels := make([]string, 0, len(focus))
	for _, f := range focus {
		if rel, err := cs.Workspace().Resolve(f); err == nil && !slices.Contains(rels, rel) {
			rels = append(rels, rel)
		}
	}
	return ix.RepoMap(analysis.RepoMapOptions{Focus: rels, MaxTokens: tokens}), nil
}

// readSource reads a file for the analysis tools, refusing files in no
// supported language.
func readSource(env *Env, path string) (string, []byte, error) {
	rel, err := env.Workspace().Resolve(path)
	if err != nil {
		return "", nil, err
	}
	b, err := env.Changes.ReadFile(rel)
	if err != nil {
		return "", nil, err
	}
	if analysis.DetectLanguage(rel, b) == "" {
		return "", nil, fmt.Errorf("%s: not a supported language (supported: %s)", rel, strings.Join(analysis.Languages(), ", "))
	}
	return rel, b, nil
}
