package tools

import (
	"context"
	"encoding/json"

	"github.com/loom-agent/loom/codeindex"
)

// RepoMapTool renders a compact map of the workspace's important symbols.
type RepoMapTool struct{}

type repoMapArgs struct {
	Tokens int      `json:"tokens,omitempty"`
	Focus  []string `json:"focus,omitempty"`
}

// DefaultRepoMapTokens is the map's budget when none is given.
const DefaultRepoMapTokens = 1024

func (RepoMapTool) Spec() Spec {
	return Spec{
		Name: "repo_map",
		Description: "A compact map of the workspace: its most important files and the definitions in them, " +
			"ranked by how much the rest of the code refers to them (PageRank over definitions and references), " +
			"within a token budget. Files in focus and their neighbours rank higher.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"tokens":{"type":"integer","minimum":64,"description":"budget in tokens (default 1024)"},
"focus":{"type":"array","items":{"type":"string"},"description":"files you are working on"}},
"additionalProperties":false}`),
		Effect:     EffectRead,
		PathArgs:   []string{"focus"},
		Idempotent: true,
	}
}

func (RepoMapTool) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a repoMapArgs
	if err := decodeArgs("repo_map", raw, &a); err != nil {
		return Result{}, err
	}
	tokens := a.Tokens
	if tokens <= 0 {
		tokens = DefaultRepoMapTokens
	}
	m, err := codeindex.For(env.Workspace()).RepoMap(ctx, env.Changes, a.Focus, tokens)
	if err != nil {
		return Result{}, err
	}
	if m == "" {
		m = "The workspace has no source files in a supported language.\n"
	}
	return Result{Text: m, Data: map[string]any{"map": m, "tokens": tokens}}, nil
}

// Title says what one call does, for front ends to show.
func (RepoMapTool) Title(args json.RawMessage) string {
	return "Map the repository"
}
