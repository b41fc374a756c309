package tools

import (
	"context"
	"encoding/json"
	"fmt"
)

// WriteFile stages a whole file's new content.
type WriteFile struct{}

type writeFileArgs struct {
	Path    string  `json:"path"`
	Content *string `json:"content"`
}

func (WriteFile) Spec() Spec {
	return Spec{
		Name: "write_file",
		Description: "Create a file or replace its whole content. The edit is staged in the changeset " +
			"(shown as a diff, applied only on request), not written to disk. " +
			"For changes to part of an existing file prefer edit_file.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"},
"content":{"type":"string","description":"the complete new content of the file"}},
"required":["path","content"],"additionalProperties":false}`),
		Effect:      EffectEdit,
		PathArgs:    []string{"path"},
		Destructive: true,
		Idempotent:  true,
	}
}

func (WriteFile) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a writeFileArgs
	if err := decodeArgs("write_file", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("write_file", "path", a.Path); err != nil {
		return Result{}, err
	}
	if a.Content == nil {
		return Result{}, fmt.Errorf("invalid arguments for write_file: %q is required", "content")
	}
	existed, err := env.Changes.Exists(a.Path)
	if err != nil {
		return Result{}, err
	}
	rel, err := env.Changes.WriteFile(a.Path, []byte(*a.Content))
	if err != nil {
		return Result{}, err
	}
	verb := "created"
	if existed {
		verb = "replaced the content of"
	}
	return EditResult(ctx, env, fmt.Sprintf("Staged: %s %s.", verb, rel), rel)
}

// Title says what one call does, for front ends to show.
func (WriteFile) Title(args json.RawMessage) string {
	return "Write " + str(titleArgs(args), "path", ".")
}
