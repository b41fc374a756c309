package mcp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/tools/toolstest"
)

// retarget is a tool the server knows nothing of but its spec.
type retarget = toolstest.Retarget

// launch is a test tool that executes something.
type launch struct{}

func (launch) Spec() tools.Spec {
	return tools.Spec{Name: "launch", Effect: tools.EffectExecute, Destructive: true, Schema: json.RawMessage(`{"type":"object"}`)}
}

func (launch) Run(context.Context, *tools.Env, json.RawMessage) (tools.Result, error) {
	return tools.Result{Text: "launched"}, nil
}

// TestNewToolFollowsItsSpec: tools the server has never heard of are
// annotated from their effect, and the staging one's path argument picks
// the client's root it names, is refused outside every root, and answers
// with a diff, writing nothing.
func TestNewToolFollowsItsSpec(t *testing.T) {
	first := files(t, map[string]string{"a.txt": "a\n"})
	second := files(t, map[string]string{"b.txt": "b\n"})
	outside := t.TempDir()
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []tools.Tool{retarget{}, launch{}} {
		if err := reg.Add(tool); err != nil {
			t.Fatal(err)
		}
	}
	for _, allow := range []bool{false, true} {
		var policy tools.Approver
		if allow {
			policy = tools.AlwaysApprove
		}
		s, err := New(Options{Roots: []string{first}, Tools: reg, Approver: policy})
		if err != nil {
			t.Fatal(err)
		}
		list, err := connect(t, s).ListTools(context.Background(), mcpgo.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][4]bool{ // readOnly, destructive, idempotent, open world
			"retarget": {true, false, true, false}, // staged and dropped: it answers with a diff
		}
		if allow {
			want["launch"] = [4]bool{false, true, false, true}
		}
		for _, tool := range list.Tools {
			switch tool.Name {
			case "retarget":
				out, _ := json.Marshal(tool.OutputSchema)
				if !strings.Contains(string(out), `"diff"`) || !strings.Contains(tool.Description, "apply_changes") {
					t.Errorf("retarget is not offered as an edit answered with a diff: %s; output schema %s", tool.Description, out)
				}
			case "launch":
				if !allow {
					t.Error("launch is offered without an approver")
				}
			default:
				continue
			}
			a := tool.Annotations
			if got := [4]bool{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}; got != want[tool.Name] {
				t.Errorf("%s: readOnly, destructive, idempotent, open world = %v, want %v", tool.Name, got, want[tool.Name])
			}
			delete(want, tool.Name)
		}
		if len(want) > 0 {
			t.Errorf("not listed: %v", want)
		}
	}

	s, err := New(Options{Roots: []string{first}, Tools: reg})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, s, client.WithRootsHandler(rootsList{first, second}))
	tests := []struct {
		name, target string
		want         string // in the diff, or the error
		isError      bool
	}{
		{"relative: the first root", "a.txt", "+++ b/a.txt", false},
		{"absolute in the second root", filepath.Join(second, "b.txt"), "+++ b/b.txt", false},
		{"outside every root", filepath.Join(outside, "c.txt"), "outside the workspace root", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, c, "retarget", map[string]any{"target": tt.target, "text": "new\n"})
			got := text(res)
			if !res.IsError {
				got = structuredJSON(t, res)
			}
			if res.IsError != tt.isError || !strings.Contains(got, tt.want) {
				t.Errorf("retarget %s = %s (isError %v), want %q", tt.target, got, res.IsError, tt.want)
			}
		})
	}
	for path, want := range map[string]string{filepath.Join(first, "a.txt"): "a\n", filepath.Join(second, "b.txt"): "b\n"} {
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s = %q on disk, want %q", path, b, want)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "c.txt")); err == nil {
		t.Error("c.txt was created outside the roots")
	}
}
