package workspace

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestApplyPatch(t *testing.T) {
	base := map[string]string{
		"a.go":   "package a\n\nfunc A() {\n\treturn\n}\n\nfunc B() {}\n",
		"crlf.c": "int a;\r\nint b;\r\n",
	}
	tests := []struct {
		name    string
		patch   string
		want    map[string]string // changed files only
		wantErr string
	}{
		{
			name:  "git style",
			patch: "diff --git a/a.go b/a.go\n--- a/a.go\n+++ b/a.go\n@@ -3,3 +3,3 @@\n func A() {\n-\treturn\n+\treturn // done\n }\n",
			want:  map[string]string{"a.go": "package a\n\nfunc A() {\n\treturn // done\n}\n\nfunc B() {}\n"},
		},
		{
			name:  "plain names and wrong line numbers",
			patch: "--- a.go\n+++ a.go\n@@ -40,2 +40,2 @@\n-func B() {}\n+func B() int { return 2 }\n",
			want:  map[string]string{"a.go": "package a\n\nfunc A() {\n\treturn\n}\n\nfunc B() int { return 2 }\n"},
		},
		{
			name:  "indentation slip in context",
			patch: "--- a/a.go\n+++ b/a.go\n@@ -3,3 +3,3 @@\n func A() {\n-    return\n+\treturn nil\n }\n",
			want:  map[string]string{"a.go": "package a\n\nfunc A() {\n\treturn nil\n}\n\nfunc B() {}\n"},
		},
		{
			name:  "new file",
			patch: "--- /dev/null\n+++ b/dir/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n",
			want:  map[string]string{"dir/new.txt": "one\ntwo\n"},
		},
		{
			name:  "delete file",
			patch: "--- a/crlf.c\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-int a;\n-int b;\n",
			want:  map[string]string{"crlf.c": ""},
		},
		{
			name:  "LF patch on a CRLF file keeps CRLF",
			patch: "--- a/crlf.c\n+++ b/crlf.c\n@@ -1,2 +1,3 @@\n int a;\n+int between;\n int b;\n",
			want:  map[string]string{"crlf.c": "int a;\r\nint between;\r\nint b;\r\n"},
		},
		{
			name:  "huge line number is searched from the end, not looped to",
			patch: "--- a/a.go\n+++ b/a.go\n@@ -2000000000,1 +2000000000,1 @@\n-func B() {}\n+func B() {} // b\n",
			want:  map[string]string{"a.go": "package a\n\nfunc A() {\n\treturn\n}\n\nfunc B() {} // b\n"},
		},
		{
			name:    "hunk that does not match",
			patch:   "--- a/a.go\n+++ b/a.go\n@@ -1,1 +1,1 @@\n-package b\n+package c\n",
			wantErr: "a.go: hunk 1 (@@ -1,1 +1,1 @@)",
		},
		{
			name:    "second hunk fails",
			patch:   "--- a/a.go\n+++ b/a.go\n@@ -1,1 +1,1 @@\n-package a\n+package c\n@@ -7,1 +7,1 @@\n-func C() {}\n+func D() {}\n",
			wantErr: "hunk 2 (@@ -7,1 +7,1 @@) does not match",
		},
		{
			name:    "second file fails, first is not staged",
			patch:   "--- a/a.go\n+++ b/a.go\n@@ -1 +1 @@\n-package a\n+package z\n--- a/missing.go\n+++ b/missing.go\n@@ -1 +1 @@\n-x\n+y\n",
			wantErr: "missing.go",
		},
		{
			name:    "creates a file that exists",
			patch:   "--- /dev/null\n+++ b/a.go\n@@ -0,0 +1 @@\n+x\n",
			wantErr: "already exists",
		},
		{
			name:    "escapes the root",
			patch:   "--- /dev/null\n+++ b/../evil.txt\n@@ -0,0 +1 @@\n+x\n",
			wantErr: "outside the workspace root",
		},
		{
			name:    "not a diff",
			patch:   "please change A to return 1",
			wantErr: "no file changes found",
		},
		{
			name:    "broken hunk header",
			patch:   "--- a/a.go\n+++ b/a.go\n@@ -x +y @@\n-package a\n",
			wantErr: "parse diff",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, dir := newWorkspace(t, base)
			cs := ws.NewChangeset()
			_, err := cs.ApplyPatch(tt.patch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if !cs.Empty() {
					t.Errorf("a refused patch staged changes: %+v", cs.Changes())
				}
				if got := readTree(t, dir); !reflect.DeepEqual(got, base) {
					t.Errorf("disk changed: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for path, content := range tt.want {
				got, err := cs.ReadFile(path)
				if content == "" { // deleted
					if err == nil {
						t.Errorf("%s still exists", path)
					}
					continue
				}
				if err != nil || string(got) != content {
					t.Errorf("%s = %q, %v; want %q", path, got, err, content)
				}
			}
		})
	}
}

func TestHunkErrorIsErrPatch(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{"a.txt": "a\n"})
	_, err := ws.NewChangeset().ApplyPatch("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-b\n+c\n")
	var he *HunkError
	if !errors.As(err, &he) || !errors.Is(err, ErrPatch) || he.Index != 1 || he.File != "a.txt" {
		t.Fatalf("err = %#v", err)
	}
}

// TestOverlay: reads see staged edits, then editor buffers, then the disk.
func TestOverlay(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{"a.txt": "disk\n", "b.txt": "disk b\n"})
	if err := ws.SetBuffer("a.txt", []byte("buffer\n")); err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	read := func(p string) string {
		b, err := cs.ReadFile(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(b)
	}
	if got := read("a.txt"); got != "buffer\n" {
		t.Errorf("a.txt = %q, want the buffer", got)
	}
	write("b.txt", "staged\n")(t, cs)
	if got := read("b.txt"); got != "staged\n" {
		t.Errorf("b.txt = %q, want the staged text", got)
	}
	// An edit made against the buffer diffs against the buffer.
	write("a.txt", "buffer edited\n")(t, cs)
	diff, err := cs.Diff()
	if err != nil || !strings.Contains(diff, "-buffer\n+buffer edited\n") {
		t.Errorf("diff = %q, %v", diff, err)
	}
	if err := ws.ClearBuffer("a.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := ws.ReadFile("a.txt"); string(b) != "disk\n" {
		t.Errorf("after ClearBuffer a.txt = %q", b)
	}
	// The buffer differs from the disk, so applying is a conflict.
	var conflict *ConflictError
	if _, err := cs.Apply(); !errors.As(err, &conflict) || conflict.Path != "a.txt" {
		t.Errorf("Apply err = %v, want a conflict on a.txt", err)
	}
}
