package tools

import (
	"context"
	"encoding/json"
	"fmt"
)

// MoveFile stages a rename.
type MoveFile struct{}

type moveFileArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (MoveFile) Spec() Spec {
	return Spec{
		Name:        "move_file",
		Description: "Move or rename a file (staged in the changeset, not written to disk). The destination must not exist.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"from":{"type":"string","description":"current path, relative to the workspace root"},
"to":{"type":"string","description":"new path, relative to the workspace root"}},
"required":["from","to"],"additionalProperties":false}`),
		Effect:      EffectMove,
		PathArgs:    []string{"from", "to"},
		Destructive: true,
	}
}

func (MoveFile) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a moveFileArgs
	if err := decodeArgs("move_file", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("move_file", "from", a.From); err != nil {
		return Result{}, err
	}
	if err := required("move_file", "to", a.To); err != nil {
		return Result{}, err
	}
	src, dst, err := env.Changes.Move(a.From, a.To)
	if err != nil {
		return Result{}, err
	}
	return EditResult(ctx, env, fmt.Sprintf("Staged: moved %s to %s.", src, dst), src, dst)
}

// Title says what one call does, for front ends to show.
func (MoveFile) Title(args json.RawMessage) string {
	a := titleArgs(args)
	return fmt.Sprintf("Move %s to %s", str(a, "from", ""), str(a, "to", ""))
}
