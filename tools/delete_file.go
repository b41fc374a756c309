package tools

import (
	"context"
	"encoding/json"
	"fmt"
)

// DeleteFile stages a deletion.
type DeleteFile struct{}

type deleteFileArgs struct {
	Path string `json:"path"`
}

func (DeleteFile) Spec() Spec {
	return Spec{
		Name:        "delete_file",
		Description: "Delete a file (staged in the changeset, not written to disk).",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"}},
"required":["path"],"additionalProperties":false}`),
		Effect:      EffectDelete,
		PathArgs:    []string{"path"},
		Destructive: true,
	}
}

func (DeleteFile) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a deleteFileArgs
	if err := decodeArgs("delete_file", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("delete_file", "path", a.Path); err != nil {
		return Result{}, err
	}
	rel, err := env.Changes.Remove(a.Path)
	if err != nil {
		return Result{}, err
	}
	return EditResult(ctx, env, fmt.Sprintf("Staged: deleted %s.", rel), rel)
}

// Title says what one call does, for front ends to show.
func (DeleteFile) Title(args json.RawMessage) string {
	return "Delete " + str(titleArgs(args), "path", ".")
}
