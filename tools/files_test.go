package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

// fileEnv makes a workspace holding files and an Env over a fresh
// changeset.
func fileEnv(t *testing.T, files map[string]string) (*Env, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Changes: ws.NewChangeset()}, dir
}

func call(t *testing.T, env *Env, tool Tool, args string) (Result, error) {
	t.Helper()
	reg, err := NewRegistry(tool)
	if err != nil {
		t.Fatal(err)
	}
	return reg.Run(context.Background(), env, tool.Spec().Name, json.RawMessage(args))
}

// diskUnchanged fails the test if any file below dir differs from files.
func diskUnchanged(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if !reflect.DeepEqual(got, files) {
		t.Errorf("the disk changed: %q, want %q", got, files)
	}
}

func TestFileTools(t *testing.T) {
	files := map[string]string{
		"main.go":  "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n",
		"dup.txt":  "x = 1\ny = 2\nx = 1\n",
		"bin.dat":  "GIF89a\x00\x01\x02",
		"crlf.txt": "one\r\ntwo\r\n",
	}
	tests := []struct {
		name     string
		tool     Tool
		args     string
		wantText []string // substrings of the result text (or of the error)
		wantErr  bool
		after    map[string]string // staged content of files after the call ("" = deleted)
	}{
		{name: "read with line numbers", tool: ReadFile{}, args: `{"path":"main.go"}`,
			wantText: []string{"     1\tpackage main\n", "     4\t\tprintln(\"hi\")\n"}},
		{name: "read a range", tool: ReadFile{}, args: `{"path":"main.go","offset":3,"limit":1}`,
			wantText: []string{"     3\tfunc main() {\n", "has 5 lines; showing 3-3. Call read_file with offset=4"}},
		{name: "read binary refused", tool: ReadFile{}, args: `{"path":"bin.dat"}`, wantErr: true,
			wantText: []string{"binary file"}},
		{name: "read missing", tool: ReadFile{}, args: `{"path":"nope.go"}`, wantErr: true,
			wantText: []string{"nope.go: no such file"}},
		{name: "read outside root", tool: ReadFile{}, args: `{"path":"../../etc/passwd"}`, wantErr: true,
			wantText: []string{"outside the workspace root"}},
		{name: "read offset past the end", tool: ReadFile{}, args: `{"path":"main.go","offset":9}`, wantErr: true,
			wantText: []string{"past the end of the file (5 lines)"}},
		{name: "unknown argument", tool: ReadFile{}, args: `{"path":"main.go","lines":3}`, wantErr: true,
			wantText: []string{`unknown field "lines"`}},
		{name: "write creates", tool: WriteFile{}, args: `{"path":"pkg/new.go","content":"package pkg\n"}`,
			wantText: []string{"created pkg/new.go", "+++ b/pkg/new.go", "+package pkg"},
			after:    map[string]string{"pkg/new.go": "package pkg\n"}},
		{name: "write needs content", tool: WriteFile{}, args: `{"path":"a.go"}`, wantErr: true,
			wantText: []string{`"content" is required`}},
		{name: "write outside root", tool: WriteFile{}, args: `{"path":"/tmp/evil","content":"x"}`, wantErr: true,
			wantText: []string{"outside the workspace root"}},
		{name: "edit once", tool: EditFile{}, args: `{"path":"main.go","old_text":"println(\"hi\")","new_text":"println(\"hello\")"}`,
			wantText: []string{"replaced 1 occurrence(s) in main.go", "-\tprintln(\"hi\")\n+\tprintln(\"hello\")"},
			after:    map[string]string{"main.go": "package main\n\nfunc main() {\n\tprintln(\"hello\")\n}\n"}},
		{name: "edit ambiguous", tool: EditFile{}, args: `{"path":"dup.txt","old_text":"x = 1","new_text":"x = 3"}`, wantErr: true,
			wantText: []string{"matches 2 times (at lines 1, 3)", "replace_all"}},
		{name: "edit replace_all", tool: EditFile{}, args: `{"path":"dup.txt","old_text":"x = 1","new_text":"x = 3","replace_all":true}`,
			wantText: []string{"replaced 2 occurrence(s)"}, after: map[string]string{"dup.txt": "x = 3\ny = 2\nx = 3\n"}},
		{name: "edit whitespace slip", tool: EditFile{}, args: `{"path":"main.go","old_text":"func main() {\n    println(\"hi\")","new_text":"x"}`, wantErr: true,
			wantText: []string{"matches lines 3-4 if whitespace is ignored", "     4\t\tprintln(\"hi\")", "indentation included"}},
		{name: "edit near miss shows closest lines", tool: EditFile{}, args: `{"path":"main.go","old_text":"func main() {\n\tprintln(\"bye\")\n}","new_text":"x"}`, wantErr: true,
			wantText: []string{"old_text was not found", "closest lines are 3-5", "     4\t\tprintln(\"hi\")"}},
		{name: "edit nothing alike", tool: EditFile{}, args: `{"path":"main.go","old_text":"zzz qqq","new_text":"x"}`, wantErr: true,
			wantText: []string{"No lines of the file resemble it"}},
		{name: "edit LF text in a CRLF file", tool: EditFile{}, args: `{"path":"crlf.txt","old_text":"one\ntwo","new_text":"1\n2"}`,
			after: map[string]string{"crlf.txt": "1\r\n2\r\n"}},
		{name: "edit empty old_text", tool: EditFile{}, args: `{"path":"main.go","old_text":"","new_text":"x"}`, wantErr: true,
			wantText: []string{"old_text is empty"}},
		{name: "patch", tool: ApplyPatch{}, args: `{"patch":"--- a/dup.txt\n+++ b/dup.txt\n@@ -2 +2 @@\n-y = 2\n+y = 4\n"}`,
			wantText: []string{"Staged the patch: dup.txt"}, after: map[string]string{"dup.txt": "x = 1\ny = 4\nx = 1\n"}},
		{name: "patch that does not apply", tool: ApplyPatch{}, args: `{"patch":"--- a/dup.txt\n+++ b/dup.txt\n@@ -2 +2 @@\n-y = 9\n+y = 4\n"}`, wantErr: true,
			wantText: []string{"dup.txt: hunk 1 (@@ -2,1 +2,1 @@)"}},
		{name: "move", tool: MoveFile{}, args: `{"from":"dup.txt","to":"moved/dup.txt"}`,
			wantText: []string{"moved dup.txt to moved/dup.txt", "rename from dup.txt"},
			after:    map[string]string{"dup.txt": "", "moved/dup.txt": "x = 1\ny = 2\nx = 1\n"}},
		{name: "move onto an existing file", tool: MoveFile{}, args: `{"from":"dup.txt","to":"main.go"}`, wantErr: true,
			wantText: []string{"destination already exists"}},
		{name: "delete", tool: DeleteFile{}, args: `{"path":"dup.txt"}`,
			wantText: []string{"deleted dup.txt", "deleted file mode"}, after: map[string]string{"dup.txt": ""}},
		{name: "delete missing", tool: DeleteFile{}, args: `{"path":"nope"}`, wantErr: true,
			wantText: []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, dir := fileEnv(t, files)
			res, err := call(t, env, tt.tool, tt.args)
			text := res.Text
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; result %q", res.Text)
				}
				text = err.Error()
				if !env.Changes.Empty() {
					t.Errorf("a failed call staged changes")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(text, want) {
					t.Errorf("text does not contain %q:\n%s", want, text)
				}
			}
			for path, want := range tt.after {
				got, err := env.Changes.ReadFile(path)
				if want == "" {
					if err == nil {
						t.Errorf("%s still exists", path)
					}
					continue
				}
				if err != nil || string(got) != want {
					t.Errorf("%s = %q (%v), want %q", path, got, err, want)
				}
			}
			diskUnchanged(t, dir, files)
		})
	}
}

func TestRegistry(t *testing.T) {
	reg, err := NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	env, _ := fileEnv(t, map[string]string{"a.txt": "a\n"})
	if _, err := reg.Run(context.Background(), env, "read_fil", nil); err == nil || !strings.Contains(err.Error(), `unknown tool "read_fil"; available tools: apply_patch`) {
		t.Errorf("unknown tool error = %v", err)
	}
	if _, err := reg.Run(context.Background(), env, "read_file", json.RawMessage(`{"path":`)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("malformed JSON error = %v", err)
	}
	if _, err := NewRegistry(ReadFile{}, ReadFile{}); err == nil {
		t.Error("a duplicate tool name was accepted")
	}
	for _, tool := range reg.List() {
		sp := tool.Spec()
		var schema map[string]any
		if err := json.Unmarshal(sp.Schema, &schema); err != nil || schema["type"] != "object" {
			t.Errorf("%s: schema is not a JSON object schema: %v", sp.Name, err)
		}
		if sp.Description == "" {
			t.Errorf("%s has no description", sp.Name)
		}
	}
}

// FuzzReplace checks edit_file's search and replace on arbitrary input: no
// panic, and a success replaces exactly what it says it did.
func FuzzReplace(f *testing.F) {
	f.Add("a\nb\nc\n", "b", "B", false)
	f.Add("x x x", "x", "y", true)
	f.Add("one\r\ntwo\r\n", "one\ntwo", "1\n2", false)
	f.Add("🙂 héllo", "é", "e", false)
	f.Add("", "", "", false)
	f.Add("aaa", "aa", "a", false)
	f.Fuzz(func(t *testing.T, content, old, new string, all bool) {
		out, n, err := Replace(content, old, new, all)
		if err != nil {
			if n != 0 || out != "" {
				t.Fatalf("an error came with a result: %q %d", out, n)
			}
			return
		}
		if n < 1 || (!all && n != 1) {
			t.Fatalf("replaced %d occurrences (all=%v)", n, all)
		}
		if old == "" || old == new {
			t.Fatalf("accepted old=%q new=%q", old, new)
		}
		if !strings.Contains(content, old) && !strings.Contains(content, strings.ReplaceAll(old, "\n", "\r\n")) {
			t.Fatalf("replaced %q, which is not in the content", old)
		}
		if !all && strings.Count(content, old) > 1 {
			t.Fatalf("replaced one of several matches without replace_all")
		}
		if new != "" && !strings.Contains(out, new) && !strings.Contains(out, strings.ReplaceAll(new, "\n", "\r\n")) {
			t.Fatalf("result %q lacks the new text %q", out, new)
		}
	})
}
