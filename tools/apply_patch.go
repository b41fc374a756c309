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
	return editResult(ctx, env, fmt.Sprintf("Staged the patch: %s.", strings.Join(touched, ", ")), touched...)
}
