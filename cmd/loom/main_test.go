package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/loom-agent/loom/server/auth/mailtest"
	"github.com/loom-agent/loom/server/db/dbtest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
)

// The exit codes the binary's tests expect.
const (
	exitFailure   = cmdutil.ExitFailure
	exitUsage     = cmdutil.ExitUsage
	exitLimit     = cmdutil.ExitLimit
	exitTimedOut  = cmdutil.ExitTimedOut
	exitCancelled = cmdutil.ExitCancelled
)

// loomBin is the real binary, built once for the end-to-end tests. Tests
// start it only through loomCommand.
var loomBin string

// userDirs are the variables that lead to the user's own data: threads,
// config, cache, MCP tokens.
var userDirs = []string{"HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"}

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
	// The tests' own HOME and XDG folders point at an empty folder, so
	// code that reads them from this process, or a child handed
	// os.Environ(), lands there and not in the user's data; it must
	// still be empty at the end.
	// mailpit is found through the real XDG_CACHE_HOME, set aside below.
	if mp, err := mailtest.Binary(); err == nil {
		os.Setenv("LOOM_MAILPIT", mp)
	}
	sentinel := filepath.Join(dir, "home")
	for _, k := range userDirs {
		d := filepath.Join(sentinel, k)
		if k == "HOME" {
			d = sentinel
		}
		os.Setenv(k, d)
	}
	code := m.Run()
	dbtest.Stop()
	if left := listTree(sentinel); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests wrote into the HOME and XDG folders of their own environment, where the user's data would be:\n  %s\n", strings.Join(left, "\n  "))
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// listTree lists what lies below dir.
func listTree(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// privateEnv is the environment of a child: PATH, a HOME and XDG folders
// of its own below t.TempDir(), nothing of the user's (model settings,
// API keys), then extra, whose entries win.
func privateEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	for _, k := range userDirs[1:] {
		d := filepath.Join(home, strings.ToLower(k))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+d)
	}
	if d, ok := os.LookupEnv("TMPDIR"); ok {
		env = append(env, "TMPDIR="+d)
	}
	return append(env, extra...)
}

// checkPrivateEnv refuses an environment in which the binary could reach
// the user's data: HOME must be set (without it the binary takes the home
// folder from the user database) and, like every XDG folder and LOOM_DB
// that is set, lie in the temporary directory. The last entry of a name
// counts, as in exec.Cmd.
func checkPrivateEnv(env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	tmp := os.TempDir()
	inTemp := func(p string) bool {
		rel, err := filepath.Rel(tmp, p)
		return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
	}
	if h, ok := vars["HOME"]; !ok || !filepath.IsAbs(h) || !inTemp(h) {
		return fmt.Errorf("HOME=%q: a child needs a HOME of its own in %s (use privateEnv)", h, tmp)
	}
	for _, k := range append(userDirs[1:], "LOOM_DB") {
		// Relative XDG values are ignored (the spec says so); LOOM_DB is
		// a database path in any case.
		if v, ok := vars[k]; ok && (filepath.IsAbs(v) || k == "LOOM_DB" && v != "") && !inTemp(v) {
			return fmt.Errorf("%s=%q lies outside %s (use privateEnv)", k, v, tmp)
		}
	}
	return nil
}

// loomCommand is the one way the tests start the binary: with env, which
// checkPrivateEnv must accept, so no test reads or writes the user's data.
func loomCommand(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	return loomCommandContext(t, context.Background(), env, args...)
}

func loomCommandContext(t testing.TB, ctx context.Context, env []string, args ...string) *exec.Cmd {
	t.Helper()
	if err := checkPrivateEnv(env); err != nil {
		t.Fatalf("loom %s: %v", strings.Join(args, " "), err)
	}
	cmd := exec.CommandContext(ctx, loomBin, args...)
	cmd.Env = env
	return cmd
}

// loom runs the built binary in dir and returns stdout, stderr and the exit
// code.
func loom(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := loomCommand(t, privateEnv(t), args...)
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
		// Not the machine's git configuration: only the diff decides.
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
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
