// Package toolstest holds tools for tests: tools no front end or agent has
// heard of, which they must handle from their specs alone.
package toolstest

import (
	"context"
	"encoding/json"

	"github.com/loom-agent/loom/tools"
)

// Retarget is a tool known only to the registry a test builds: it stages
// new text for the file its "target" argument names, a path argument no
// built-in tool has.
type Retarget struct{}

// Spec declares an edit whose path is in "target".
func (Retarget) Spec() tools.Spec {
	return tools.Spec{Name: "retarget", Description: "Stage text for a target file.",
		Effect: tools.EffectEdit, PathArgs: []string{"target"},
		Schema: json.RawMessage(`{"type":"object","properties":{"target":{"type":"string"},"text":{"type":"string"}},
"required":["target","text"],"additionalProperties":false}`)}
}

// Run stages the text and answers as the built-in editing tools do.
func (Retarget) Run(ctx context.Context, env *tools.Env, raw json.RawMessage) (tools.Result, error) {
	var a struct{ Target, Text string }
	if err := json.Unmarshal(raw, &a); err != nil {
		return tools.Result{}, err
	}
	rel, err := env.Changes.WriteFile(a.Target, []byte(a.Text))
	if err != nil {
		return tools.Result{}, err
	}
	return tools.EditResult(ctx, env, "Staged "+rel+".", rel)
}
