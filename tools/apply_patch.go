package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ApplyPatch stages a unified diff.
type ApplyPatch struct{}

type applyPatchArgs struct {
	Patch string `json:"patch"`
}

func (ApplyPatch) Spec() Spec {
	return Spec{
		Name: "apply_patch",
		Description: "Apply a unified diff (git diff or diff -u format, with ---/+++ headers and @@ hunks; " +
			"/dev/null creates or deletes a file) to the workspace. The whole patch is checked first: " +
			"if any hunk does not match the current content, nothing is staged and the error names the hunk. " +
			"Edits are staged in the changeset, not written to disk.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"patch":{"type":"string","description":"the unified diff"}},
"required":["patch"],"additionalProperties":false}`),
		Effect:      EffectEdit,
		Destructive: true,
	}
}

func (ApplyPatch) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a applyPatchArgs
	if err := decodeArgs("apply_patch", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("apply_patch", "patch", a.Patch); err != nil {
		return Result{}, err
	}
	touched, err := env.Changes.ApplyPatch(a.Patch)
	if err != nil {
		return Result{}, err
	}
	return EditResult(ctx, env, fmt.Sprintf("Staged the patch: %s.", strings.Join(touched, ", ")), touched...)
}

// Title says what one call does, for front ends to show.
func (ApplyPatch) Title(args json.RawMessage) string {
	files := ApplyPatch{}.PathsOf(args)
	if len(files) == 0 {
		return "Patch files"
	}
	return "Patch " + strings.Join(files, ", ")
}

// PathsOf lists the files the patch's ---/+++ headers name, in order, once
// each: what the call edits, before the patch is checked.
func (ApplyPatch) PathsOf(args json.RawMessage) []string {
	var a applyPatchArgs
	if json.Unmarshal(args, &a) != nil {
		return nil
	}
	var files []string
	seen := map[string]bool{}
	for line := range strings.Lines(a.Patch) {
		var name string
		switch {
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "+++ "):
			name = strings.TrimSpace(line[4:])
		default:
			continue
		}
		if i := strings.IndexByte(name, '\t'); i >= 0 {
			name = name[:i] // a timestamp follows the name
		}
		if name == "/dev/null" || name == "" {
			continue
		}
		if strings.HasPrefix(name, "a/") || strings.HasPrefix(name, "b/") {
			name = name[2:]
		}
		if !seen[name] {
			seen[name] = true
			files = append(files, name)
		}
	}
	return files
}
