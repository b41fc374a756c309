package tools

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEffect(t *testing.T) {
	tests := []struct {
		effect                                  Effect
		name                                    string
		readOnly, stages, needsConsent, openEnd bool
	}{
		{EffectRead, "read", true, false, false, false},
		{EffectSearch, "search", true, false, false, false},
		{EffectEdit, "edit", false, true, true, false},
		{EffectMove, "move", false, true, true, false},
		{EffectDelete, "delete", false, true, true, false},
		{EffectExecute, "execute", false, false, true, true},
		{0, "Effect(0)", false, false, false, false},
	}
	for _, tt := range tests {
		e := tt.effect
		if e.String() != tt.name || e.ReadOnly() != tt.readOnly || e.Stages() != tt.stages ||
			e.NeedsConsent() != tt.needsConsent || e.OpenWorld() != tt.openEnd {
			t.Errorf("%d: %s read-only %v stages %v consent %v open %v; want %+v",
				int(e), e, e.ReadOnly(), e.Stages(), e.NeedsConsent(), e.OpenWorld(), tt)
		}
	}
	if _, err := json.Marshal(struct{ E Effect }{0}); err == nil {
		t.Error("no effect marshalled without an error")
	}
	if b, _ := json.Marshal(EffectMove); string(b) != `"move"` {
		t.Errorf("EffectMove as JSON = %s", b)
	}
}

// TestBuiltinEffects pins what each built-in tool declares: front ends
// gate, order and show calls by it, so a wrong effect is a wrong gate.
func TestBuiltinEffects(t *testing.T) {
	want := map[string]Effect{
		"read_file": EffectRead, "outline": EffectRead, "repo_map": EffectRead, "syntax_check": EffectRead,
		"list_dir": EffectSearch, "glob": EffectSearch, "grep": EffectSearch,
		"find_symbol": EffectSearch, "find_references": EffectSearch,
		"write_file": EffectEdit, "edit_file": EffectEdit, "apply_patch": EffectEdit,
		"move_file": EffectMove, "delete_file": EffectDelete, "shell": EffectExecute,
	}
	for _, tool := range Builtin() {
		sp := tool.Spec()
		if sp.Effect != want[sp.Name] {
			t.Errorf("%s: effect %v, want %v", sp.Name, sp.Effect, want[sp.Name])
		}
		delete(want, sp.Name)
		// Each path argument is one the schema takes, as a string or an
		// array of strings.
		var schema struct {
			Properties map[string]struct {
				Type  string `json:"type"`
				Items struct {
					Type string `json:"type"`
				} `json:"items"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(sp.Schema, &schema); err != nil {
			t.Fatalf("%s: schema: %v", sp.Name, err)
		}
		for _, k := range sp.PathArgs {
			p, ok := schema.Properties[k]
			if !ok || !(p.Type == "string" || p.Type == "array" && p.Items.Type == "string") {
				t.Errorf("%s: path argument %q is not a string or string array in its schema", sp.Name, k)
			}
		}
		// Every argument the schema describes as a path is declared.
		for k := range schema.Properties {
			if (k == "path" || k == "from" || k == "to" || k == "cwd" || k == "focus") && !slices.Contains(sp.PathArgs, k) {
				t.Errorf("%s: argument %q holds a path but is not among its PathArgs %q", sp.Name, k, sp.PathArgs)
			}
		}
	}
	for name := range want {
		t.Errorf("built-in %s is missing", name)
	}
}

// noEffect is a tool that forgot to declare its effect.
type noEffect struct{}

func (noEffect) Spec() Spec { return Spec{Name: "forgetful"} }
func (noEffect) Run(context.Context, *Env, json.RawMessage) (Result, error) {
	return Result{}, nil
}

func TestRegistryRefusesToolWithoutEffect(t *testing.T) {
	if _, err := NewRegistry(ReadFile{}, noEffect{}); err == nil || !strings.Contains(err.Error(), `"forgetful" declares no effect`) {
		t.Errorf("NewRegistry with a tool of no effect: %v", err)
	}
}

// renamer declares a path argument of its own name and has no title.
type renamer struct{}

func (renamer) Spec() Spec {
	return Spec{Name: "renamer", Effect: EffectMove, PathArgs: []string{"target", "extra"}}
}
func (renamer) Run(context.Context, *Env, json.RawMessage) (Result, error) {
	return Result{}, nil
}

func TestPaths(t *testing.T) {
	tests := []struct {
		tool Tool
		args string
		want []string
	}{
		{ReadFile{}, `{"path":"a.go","offset":3}`, []string{"a.go"}},
		{MoveFile{}, `{"from":"a.go","to":"/w/b.go"}`, []string{"a.go", "/w/b.go"}},
		{RepoMapTool{}, `{"focus":["x.go","","y.go"]}`, []string{"x.go", "y.go"}},
		{Shell{}, `{"command":"ls","cwd":"sub"}`, []string{"sub"}},
		{Grep{}, `{"pattern":"x"}`, nil},
		{FindSymbol{}, `{"name":"path"}`, nil},
		{ApplyPatch{}, `{"patch":"--- a/x.go\n+++ b/x.go\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/new.go\n"}`, []string{"x.go", "new.go"}},
		{ApplyPatch{}, `{"patch":"--- x.go\t2024-01-01\n+++ x.go\t2024-01-02\n"}`, []string{"x.go"}},
		{ApplyPatch{}, `{"patch":"--- a/old.go\n+++ b/new.go\n--- a/d.go\n+++ /dev/null\n"}`, []string{"old.go", "new.go", "d.go"}},
		{ApplyPatch{}, `{"patch":"not a patch"}`, nil},
		{renamer{}, `{"target":"t.txt","extra":["u","v"]}`, []string{"t.txt", "u", "v"}},
		{renamer{}, `{"target":7}`, nil},
		{ReadFile{}, `{"path":`, nil},
		{ReadFile{}, `["path"]`, nil},
	}
	for _, tt := range tests {
		if got := Paths(tt.tool, json.RawMessage(tt.args)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Paths(%s, %s) = %q, want %q", tt.tool.Spec().Name, tt.args, got, tt.want)
		}
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		tool Tool
		args string
		want string
	}{
		{ReadFile{}, `{"path":"a.go"}`, "Read a.go"},
		{Glob{}, `{"pattern":"**/*.go"}`, "Find files matching `**/*.go` in ."},
		{FindReferences{}, `{"name":"Run"}`, "Find references to `Run`"},
		{ApplyPatch{}, `{"patch":""}`, "Patch files"},
		{Shell{}, `{"command":"` + strings.Repeat("x", 70) + `"}`, "Run `" + strings.Repeat("x", 57) + "...`"},
		{renamer{}, `{"target":"t.txt"}`, "Move t.txt"},
		{renamer{}, `{}`, "renamer"},
	}
	for _, tt := range tests {
		if got := Title(tt.tool, json.RawMessage(tt.args)); got != tt.want {
			t.Errorf("Title(%s, %s) = %q, want %q", tt.tool.Spec().Name, tt.args, got, tt.want)
		}
	}
}
