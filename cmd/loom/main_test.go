package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// loomBin is the real binary, built once for the end-to-end tests.
var loomBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loom-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	loomBin = filepath.Join(dir, "loom")
	if out, err := exec.Command("go", "build", "-o", loomBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building loom: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// loom runs the built binary in dir and returns stdout, stderr and the exit
// code.
func loom(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(loomBin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":     "module demo\n",
		"main.go":    "package main\n\nfunc main() {\n\tprintln(greeting())\n}\n",
		"greet.go":   "package main\n\nfunc greeting() string { return \"hi\" }\n",
		".gitignore": "build/\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVersionAndTools(t *testing.T) {
	out, _, code := loom(t, t.TempDir(), "version")
	if code != 0 || !strings.HasPrefix(out, "loom ") {
		t.Errorf("version = %q, exit %d", out, code)
	}
	out, _, code = loom(t, t.TempDir(), "tools")
	if code != 0 {
		t.Fatalf("tools exit %d", code)
	}
	for _, name := range []string{"read_file", "list_dir", "glob", "grep", "write_file", "edit_file", "apply_patch", "move_file", "delete_file", "shell"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("loom tools does not list %s:\n%s", name, out)
		}
	}
	// --json says what each tool does and which arguments are paths.
	out, _, code = loom(t, t.TempDir(), "tools", "--json")
	var list []struct {
		Name     string
		ReadOnly bool `json:"read_only"`
		Effect   string
		PathArgs []string `json:"path_args"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("loom tools --json (exit %d): %v\n%s", code, err, out)
	}
	got := map[string]string{}
	for _, e := range list {
		got[e.Name] = fmt.Sprintf("%v %s %v", e.ReadOnly, e.Effect, e.PathArgs)
	}
	for name, want := range map[string]string{
		"shell": "false execute [cwd]", "move_file": "false move [from to]", "grep": "true search [path]", "find_symbol": "true search []",
	} {
		if got[name] != want {
			t.Errorf("loom tools --json: %s is %q, want %q", name, got[name], want)
		}
	}
}

// TestToolEditPrintsDiffThatGitApplies runs edit_file without --apply: the
// disk is unchanged and the printed diff applies with git apply.
func TestToolEditPrintsDiffThatGitApplies(t *testing.T) {
	dir := project(t)
	args := `{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}`
	out, errOut, code := loom(t, dir, "tool", "edit_file", "--args", args)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "diff --git a/greet.go b/greet.go\n--- a/greet.go\n+++ b/greet.go\n@@ -1,3 +1,3 @@\n package main\n \n-func greeting() string { return \"hi\" }\n+func greeting() string { return \"hello\" }\n"
	if out != want {
		t.Errorf("stdout =\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(errOut, "Not applied") {
		t.Errorf("stderr = %q, want a note that nothing was applied", errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); strings.Contains(string(b), "hello") {
		t.Fatal("the file changed without --apply")
	}
	for _, args := range [][]string{{"init", "-q"}, {"apply", "-"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !strings.Contains(string(b), "hello") {
		t.Error("git apply did not produce the edit")
	}
}

func TestToolApply(t *testing.T) {
	dir := project(t)
	_, errOut, code := loom(t, dir, "tool", "write_file", "--args", `{"path":"pkg/new.go","content":"package pkg\n"}`, "--apply")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pkg/new.go")); err != nil || string(b) != "package pkg\n" {
		t.Errorf("pkg/new.go = %q, %v", b, err)
	}
}

func TestToolErrors(t *testing.T) {
	dir := project(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"unknown tool", []string{"tool", "nope"}, exitUsage, `unknown tool "nope"`},
		{"malformed JSON", []string{"tool", "read_file", "--args", `{"path":`}, exitUsage, "--args is not valid JSON"},
		{"outside the root", []string{"tool", "read_file", "--args", `{"path":"../../etc/passwd"}`}, exitFailure, "outside the workspace root"},
		{"missing root", []string{"tool", "read_file", "--root", "/does/not/exist", "--args", `{"path":"a"}`}, exitFailure, "workspace root"},
		{"shell off by default", []string{"tool", "shell", "--args", `{"command":"touch pwned"}`}, exitFailure, "--allow-shell"},
		{"broken patch", []string{"tool", "apply_patch", "--args", `{"patch":"--- a/main.go\n+++ b/main.go\n@@ -1 +1 @@\n-package other\n+package x\n"}`, "--apply"}, exitFailure, "main.go: hunk 1"},
		{"bad flag", []string{"tool", "read_file", "--nope"}, exitUsage, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, dir)
			_, errOut, code := loom(t, dir, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tt.code, tt.wantErr)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("the project changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestToolJSON(t *testing.T) {
	dir := project(t)
	out, _, code := loom(t, dir, "tool", "read_file", "--json", "--args", `{"path":"main.go","limit":1}`)
	if code != 0 || !strings.Contains(out, `"tool": "read_file"`) || !strings.Contains(out, `"total_lines": 5`) {
		t.Errorf("exit %d, out %s", code, out)
	}
}

// snapshot lists every file below dir with its content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			content, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s: %q\n", p, content)
		}
		return nil
	})
	return b.String()
}
