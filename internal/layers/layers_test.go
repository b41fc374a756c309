// Package layers holds the test of Loom's import rules (ARCHITECTURE.md):
// front ends → session → agent → tools → workspace/analysis, with llm,
// analysis and workspace as leaves. A change that breaks a rule fails it.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/loom-agent/loom/"

// pkgs maps each package of the module (without the module prefix) to the
// module's packages it depends on, directly or not (deps), and to those
// its non-test files import (imports).
func pkgs(t *testing.T) (deps, imports map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps, imports = map[string][]string{}, map[string][]string{}
	inModule := func(list string) []string {
		var out []string
		for _, d := range strings.Fields(list) {
			if strings.HasPrefix(d, module) {
				out = append(out, strings.TrimPrefix(d, module))
			}
		}
		return out
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "|")
		pkg := strings.TrimPrefix(fields[0], module)
		imports[pkg], deps[pkg] = inModule(fields[1]), inModule(fields[2])
	}
	return deps, imports
}

// TestImportRules checks each rule: pkg must not depend on any of the
// packages (or package trees, ending in "/") listed.
func TestImportRules(t *testing.T) {
	all, imports := pkgs(t)
	frontEnds := []string{"cmd/", "lsp", "mcp", "acp"}
	rules := []struct {
		pkg    string
		forbid []string
		why    string
	}{
		{"thread", []string{"agent", "session", "tools"}, "thread stores messages; the session records runs into it"},
		{"llm", []string{"agent", "tools", "workspace", "analysis", "thread", "session"}, "llm is a leaf"},
		{"analysis", []string{"agent", "tools", "workspace", "llm", "thread", "session"}, "analysis is a leaf: callers hand it files"},
		{"resolve", append([]string{"agent", "tools", "workspace", "analysis", "codeindex", "llm", "thread", "session"}, frontEnds...), "resolve is a leaf beside analysis: callers hand it an FS"},
		{"workspace", []string{"agent", "tools", "analysis", "llm", "thread", "session"}, "workspace is a leaf"},
		{"tools", append([]string{"agent", "session", "thread"}, frontEnds...), "tools sit below the agent"},
		{"agent", append([]string{"session", "thread"}, frontEnds...), "the agent knows nothing of threads or front ends"},
		{"mcpclient", append([]string{"agent", "session", "thread"}, frontEnds...), "other MCP servers' tools are tools: they sit beside tools, below the agent"},
		{"session", frontEnds, "front ends call the session, not the other way"},
		{"ralph", frontEnds, "a Ralph loop runs iterations through the session; its commands sit above it"},
		{"codeindex", append([]string{"agent", "tools", "session", "thread", "llm"}, frontEnds...), "the code index sits on analysis and workspace only"},
		{"server", []string{"agent", "tools", "session", "thread", "lsp", "mcp", "acp", "cmd/", "client"}, "the team server never runs the local agent"},
		{"client", []string{"server", "server/"}, "the local agent reaches a team server over HTTP only, never through its packages"},
	}
	for _, r := range rules {
		got, ok := all[r.pkg]
		if !ok {
			t.Errorf("package %s not found", r.pkg)
			continue
		}
		for _, d := range got {
			for _, f := range r.forbid {
				if d == f || strings.HasSuffix(f, "/") && strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s: %s", r.pkg, d, r.why)
				}
			}
		}
	}
	// Only the session runs the agent for a front end: no front end may
	// record runs itself.
	for pkg, ds := range all {
		for _, f := range frontEnds {
			if pkg != strings.TrimSuffix(f, "/") && !strings.HasPrefix(pkg, f) {
				continue
			}
			has := func(p string) bool {
				for _, d := range ds {
					if d == p {
						return true
					}
				}
				return false
			}
			if has("agent") && !has("session") && pkg != "cmd/loom" {
				t.Errorf("%s uses the agent without the session layer", pkg)
			}
		}
	}
	// The protocol servers reach the agent and the threads only through
	// the session (as does a Ralph loop): its Service runs, records and reads threads, and names
	// the events and stop reasons they show. (cmd/loom wires the packages
	// together, and may.)
	for _, pkg := range []string{"lsp", "mcp", "acp", "ralph"} {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("package %s not found", pkg)
		}
		for _, d := range imports[pkg] {
			if d == "agent" || d == "thread" {
				t.Errorf("%s imports %s: a protocol server reaches it through session", pkg, d)
			}
			if pkg == "lsp" && d == "tools" {
				t.Errorf("lsp imports tools: the LSP server reaches the code index through codeindex, not the agent's tools")
			}
		}
	}
}
