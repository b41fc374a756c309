package tools

import (
	"context"
	"slices"

	"github.com/loom-agent/loom/workspace"
)

// EditData is the structured result of the tools that stage edits.
type EditData struct {
	Changed []string `json:"changed"`
	// Diff is the staged diff of the changed files against their content
	// before the changeset, not only this call's part.
	Diff string `json:"diff"`
}

// EditResult reports an edit staged in env.Changes with the diff of the
// files it touched (paths, workspace-relative): the result every tool of
// a staging effect gives, which front ends show and MCP declares.
func EditResult(ctx context.Context, env *Env, summary string, paths ...string) (Result, error) {
	var changes []workspace.FileChange
	for _, ch := range env.Changes.Changes() {
		if slices.Contains(paths, ch.Path) || slices.Contains(paths, ch.NewPath) {
			changes = append(changes, ch)
		}
	}
	diff, err := workspace.RenderDiff(changes)
	if err != nil {
		return Result{}, err
	}
	text := summary
	if diff != "" {
		text += "\n" + diff
	} else {
		text += " The file is now as it was before the changeset."
	}
	for _, ch := range changes {
		if ch.New != nil {
			text += syntaxWarning(ctx, ch.NewPath, ch.Old, ch.New)
		}
	}
	return Result{Text: text, Data: EditData{Changed: paths, Diff: diff}, Changed: paths}, nil
}
