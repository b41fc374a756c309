// Package layers holds the test of Loom's import rules (ARCHITECTURE.md):
// front ends → session → agent → tools → workspace/analysis, with llm,
// analysis and workspace as leaves. A change that breaks a rule fails it.
package layers

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/loom-agent/loom/"

// deps maps each package of the module (without the module prefix) to the
// module's packages it depends on, directly or not (field "Deps"), or
// imports itself (field "Imports").
func deps(t *testing.T, field string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .`+field+`}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		m[pkg] = nil
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, module) {
				m[pkg] = append(m[pkg], strings.TrimPrefix(d, module))
			}
		}
	}
	return m
}

// TestImportRules checks each rule: pkg must not depend on any of the
// packages (or package trees, ending in "/") listed.
func TestImportRules(t *testing.T) {
	all := deps(t, "Deps")
	frontEnds := []string{"cmd/", "lsp", "mcp", "acp"}
	rules := []struct {
		pkg    string
		forbid []string
		why    string
	}{
		{"thread", []string{"agent", "session", "tools"}, "thread stores messages; the session records runs into it"},
		{"llm", []string{"agent", "tools", "workspace", "analysis", "thread", "session"}, "llm is a leaf"},
		{"analysis", []string{"agent", "tools", "workspace", "llm", "thread", "session"}, "analysis is a leaf: callers hand it files"},
		{"workspace", []string{"agent", "tools", "analysis", "llm", "thread", "session"}, "workspace is a leaf"},
		{"tools", append([]string{"agent", "session", "thread"}, frontEnds...), "tools sit below the agent"},
		{"agent", append([]string{"session", "thread"}, frontEnds...), "the agent knows nothing of threads or front ends"},
		{"session", frontEnds, "front ends call the session, not the other way"},
		{"codeindex", append([]string{"agent", "tools", "session", "thread", "llm"}, frontEnds...), "the code index sits on analysis and workspace only"},
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
	// Rules on what a package imports itself, where its dependencies may
	// reach further (lsp reaches tools through the session and the agent).
	imports := deps(t, "Imports")
	direct := []struct {
		pkg    string
		forbid []string
		why    string
	}{
		{"lsp", []string{"tools"}, "the LSP server reaches the code index through codeindex, not the agent's tools"},
	}
	for _, r := range direct {
		for _, d := range imports[r.pkg] {
			if slices.Contains(r.forbid, d) {
				t.Errorf("%s imports %s: %s", r.pkg, d, r.why)
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
}
