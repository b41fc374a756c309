package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Registry holds tools by name.
type Registry struct {
	tools map[string]Tool
}

// NewRegistry returns a registry holding the given tools. A duplicate name
// is an error, since one tool would silently hide the other.
func NewRegistry(ts ...Tool) (*Registry, error) {
	r := &Registry{tools: map[string]Tool{}}
	for _, t := range ts {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers a tool.
func (r *Registry) Add(t Tool) error {
	name := t.Spec().Name
	if _, dup := r.tools[name]; dup {
		return fmt.Errorf("tool %q is registered twice", name)
	}
	r.tools[name] = t
	return nil
}

// Get returns the tool named name.
func (r *Registry) Get(name string) (Tool, bool) {
	t, ok := r.tools[name]
	return t, ok
}

// List returns every tool sorted by name.
func (r *Registry) List() []Tool {
	out := make([]Tool, 0, len(r.tools))
	for _, t := range r.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec().Name < out[j].Spec().Name })
	return out
}

// Run dispatches one call. An unknown name or arguments that are not a JSON
// object come back as errors that list what would have worked.
func (r *Registry) Run(ctx context.Context, env *Env, name string, args json.RawMessage) (Result, error) {
	t, ok := r.tools[name]
	if !ok {
		names := make([]string, 0, len(r.tools))
		for _, t := range r.List() {
			names = append(names, t.Spec().Name)
		}
		return Result{}, fmt.Errorf("unknown tool %q; available tools: %s", name, strings.Join(names, ", "))
	}
	if len(args) > 0 && !json.Valid(args) {
		return Result{}, fmt.Errorf("invalid arguments for %s: not valid JSON", name)
	}
	return t.Run(ctx, env, args)
}
