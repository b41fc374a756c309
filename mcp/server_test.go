package mcp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

func TestNewRefusesMissingRoot(t *testing.T) {
	if _, err := New(Options{Roots: []string{filepath.Join(t.TempDir(), "nope")}}); err == nil {
		t.Fatal("New accepted a root that does not exist")
	}
}

func TestToolList(t *testing.T) {
	dir := files(t, map[string]string{"a.txt": "a\n"})
	factory := func(*workspace.Workspace) (session.Runner, error) { return nil, errors.New("unused") }
	st := openStore(t)
	tests := []struct {
		name       string
		opts       Options
		want, lack []string
	}{
		{"defaults", Options{Roots: []string{dir}}, []string{"read_file", "edit_file", "apply_changes", "outline"},
			[]string{"shell", "loom_agent", "threads_search", "thread_show"}},
		{"with threads", Options{Roots: []string{dir}, Sessions: &session.Service{Store: st}}, []string{"threads_search", "thread_show"}, []string{"loom_agent"}},
		{"threads unavailable", Options{Roots: []string{dir}, NewAgent: factory, Sessions: &session.Service{StoreErr: errors.New("permission denied")}},
			[]string{"loom_agent"}, []string{"threads_search", "thread_show"}},
		{"shell allowed", Options{Roots: []string{dir}, Approver: tools.AlwaysApprove}, []string{"shell"}, []string{"loom_agent"}},
		{"with an agent", Options{Roots: []string{dir}, NewAgent: factory}, []string{"loom_agent"}, []string{"shell"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			list, err := connect(t, s).ListTools(context.Background(), mcpgo.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]mcpgo.Tool{}
			for _, tool := range list.Tools {
				have[tool.Name] = tool
			}
			for _, n := range tt.want {
				if _, ok := have[n]; !ok {
					t.Errorf("missing %s", n)
				}
			}
			for _, n := range tt.lack {
				if _, ok := have[n]; ok {
					t.Errorf("offers %s", n)
				}
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	s, err := New(Options{Roots: []string{t.TempDir()}, Approver: tools.AlwaysApprove, Sessions: &session.Service{Store: openStore(t)}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := connect(t, s).ListTools(context.Background(), mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// A read-only tool is never destructive: the specification gives
	// destructiveHint a meaning only when readOnlyHint is false.
	want := map[string][4]bool{ // readOnly, destructive, idempotent, open world
		"read_file":      {true, false, true, false},
		"grep":           {true, false, true, false},
		"edit_file":      {true, false, true, false}, // writes nothing over MCP: it answers with a diff
		"write_file":     {true, false, true, false},
		"delete_file":    {true, false, true, false},
		"shell":          {false, true, false, true},
		"apply_changes":  {false, true, false, false},
		"threads_search": {true, false, true, false},
		"thread_show":    {true, false, true, false},
	}
	for _, tool := range list.Tools {
		w, ok := want[tool.Name]
		if !ok {
			continue
		}
		a := tool.Annotations
		got := [4]bool{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		if got != w {
			t.Errorf("%s: readOnly, destructive, idempotent, open world = %v, want %v", tool.Name, got, w)
		}
		delete(want, tool.Name)
	}
	if len(want) > 0 {
		t.Errorf("not listed: %v", want)
	}
}

func TestFileToolsWriteNothing(t *testing.T) {
	dir := files(t, map[string]string{"a.txt": "one\ntwo\n", "b.txt": "bee\n"})
	s, err := New(Options{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"write_file", map[string]any{"path": "new.txt", "content": "x\n"}, "+++ b/new.txt"},
		{"edit_file", map[string]any{"path": "a.txt", "old_text": "two", "new_text": "three"}, "+three"},
		{"move_file", map[string]any{"from": "b.txt", "to": "c.txt"}, "rename to c.txt"},
		{"delete_file", map[string]any{"path": "b.txt"}, "+++ /dev/null"},
		{"apply_patch", map[string]any{"patch": "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-one\n+uno\n two\n"}, "+uno"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			res := call(t, c, tt.tool, tt.args)
			if res.IsError || !strings.Contains(structuredJSON(t, res), tt.want) {
				t.Errorf("%s = %s (isError %v), want a diff with %q", tt.tool, structuredJSON(t, res), res.IsError, tt.want)
			}
		})
	}
	for name, want := range map[string]string{"a.txt": "one\ntwo\n", "b.txt": "bee\n"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("%s = %q on disk, want %q", name, b, want)
		}
	}
	for _, name := range []string{"new.txt", "c.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was created", name)
		}
	}
}

func TestApplyChanges(t *testing.T) {
	tests := []struct {
		name    string
		diff    string
		changed string // written to a.txt after the diff was made
		wantErr string
		want    string // a.txt afterwards
	}{
		{"applies", "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-one\n+uno\n two\n", "", "", "uno\ntwo\n"},
		{"context mismatch", "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-eins\n+uno\n two\n", "", "nothing was written", "one\ntwo\n"},
		{"not a diff", "hello", "", "nothing was written", "one\ntwo\n"},
		{"empty", " ", "", `"diff" is required`, "one\ntwo\n"},
		{"outside the root", "--- a/../x.txt\n+++ b/../x.txt\n@@ -0,0 +1 @@\n+x\n", "", "outside the workspace root", "one\ntwo\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := files(t, map[string]string{"a.txt": "one\ntwo\n"})
			s, err := New(Options{Roots: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			res := call(t, connect(t, s), "apply_changes", map[string]any{"diff": tt.diff})
			switch {
			case tt.wantErr == "" && res.IsError:
				t.Errorf("failed: %s", text(res))
			case tt.wantErr != "" && (!res.IsError || !strings.Contains(text(res), tt.wantErr)):
				t.Errorf("= %q (isError %v), want an error with %q", text(res), res.IsError, tt.wantErr)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != tt.want {
				t.Errorf("a.txt = %q, want %q", b, tt.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x.txt")); err == nil {
				t.Error("wrote outside the root")
			}
		})
	}
}

// panicRunner is an agent whose run panics.
type panicRunner struct{}

func (panicRunner) Run(context.Context, agent.Task, func(agent.Event)) (agent.Result, error) {
	panic("boom")
}

func TestPanicIsAToolError(t *testing.T) {
	s, err := New(Options{Roots: []string{t.TempDir()}, NewAgent: func(*workspace.Workspace) (session.Runner, error) { return panicRunner{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	res := call(t, c, "loom_agent", map[string]any{"task": "x"})
	if !res.IsError || !strings.Contains(text(res), "internal error in loom_agent: boom") {
		t.Errorf("= %q (isError %v)", text(res), res.IsError)
	}
	if res := call(t, c, "list_dir", map[string]any{}); res.IsError {
		t.Errorf("the server did not survive: %s", text(res))
	}
}
