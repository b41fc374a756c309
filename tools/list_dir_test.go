package tools

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

func TestListDir(t *testing.T) {
	cases := []struct {
		name, args string
		want       []DirEntry
	}{
		{"depth 1 by default, ignored and .git skipped", `{}`, []DirEntry{
			{".gitignore", false, 23}, {"bin.dat", false, 14}, {"keep.log", false, 24},
			{"main.go", false, 48}, {"sub/", true, 0}, {"util.go", false, 47}}},
		{"depth 2", `{"path":".","depth":2}`, []DirEntry{
			{".gitignore", false, 23}, {"bin.dat", false, 14}, {"keep.log", false, 24}, {"main.go", false, 48},
			{"sub/", true, 0}, {"sub/.gitignore", false, 9}, {"sub/deep/", true, 0}, {"sub/empty/", true, 0}, {"sub/real.go", false, 28},
			{"util.go", false, 47}}},
		{"a subfolder, paths relative to it", `{"path":"sub","depth":3}`, []DirEntry{
			{".gitignore", false, 9}, {"deep/", true, 0}, {"deep/d.txt", false, 22}, {"empty/", true, 0}, {"real.go", false, 28}}},
		{"an empty folder", `{"path":"sub/empty"}`, []DirEntry{}},
	}
	env, dir := fileEnv(t, searchTree)
	listDirMkdir(t, dir, "sub/empty")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := call(t, env, ListDir{}, c.args)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Data.(ListDirData)
			if !reflect.DeepEqual(d.Entries, c.want) || d.Total != len(c.want) || d.Truncated {
				t.Errorf("entries %+v (total %d), want %+v", d.Entries, d.Total, c.want)
			}
		})
	}
	res, err := call(t, env, ListDir{}, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	want := ".gitignore  (23 B)\nbin.dat  (14 B)\nkeep.log  (24 B)\nmain.go  (48 B)\nsub/\nutil.go  (47 B)\n"
	if res.Text != want {
		t.Errorf("text:\n%s\nwant:\n%s", res.Text, want)
	}
}

func TestListDirSeesChangeset(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	if _, err := env.Changes.WriteFile("new/pkg/a.go", []byte("package pkg\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Changes.WriteFile("main.go", []byte("package main\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Changes.Remove("util.go"); err != nil {
		t.Fatal(err)
	}
	if err := env.Workspace().SetBuffer("keep.log", []byte("buffered")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args string
		want []DirEntry
	}{
		{`{}`, []DirEntry{{".gitignore", false, 23}, {"bin.dat", false, 14}, {"keep.log", false, 8},
			{"main.go", false, 13}, {"new/", true, 0}, {"sub/", true, 0}}},
		{`{"depth":3,"path":"new"}`, []DirEntry{{"pkg/", true, 0}, {"pkg/a.go", false, 12}}},
		{`{"depth":1,"path":"new"}`, []DirEntry{{"pkg/", true, 0}}},
	}
	for _, c := range cases {
		res, err := call(t, env, ListDir{}, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Data.(ListDirData).Entries; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestListDirDepthAndCap(t *testing.T) {
	files := map[string]string{"a/b/c/d/e/f/g.txt": "x"}
	for i := range listDirMaxEntries + 5 {
		files[fmt.Sprintf("many/f%04d", i)] = ""
	}
	env, _ := fileEnv(t, files)
	res, err := call(t, env, ListDir{}, `{"path":"a","depth":5}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Data.(ListDirData).Entries {
		got = append(got, e.Path)
	}
	// Depth 5, the most: f/ is listed, g.txt below it is not.
	if want := []string{"b/", "b/c/", "b/c/d/", "b/c/d/e/", "b/c/d/e/f/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("depth 5: %q, want %q", got, want)
	}
	res, err = call(t, env, ListDir{}, `{"path":"many"}`)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Data.(ListDirData)
	if len(d.Entries) != listDirMaxEntries || d.Total != listDirMaxEntries+5 || !d.Truncated {
		t.Errorf("%d entries of %d (truncated %v)", len(d.Entries), d.Total, d.Truncated)
	}
	if !strings.HasSuffix(res.Text, "(showing the first 1000 of 1005 entries; list a subfolder or use a lower depth)") {
		t.Errorf("no cap note: ...%s", res.Text[len(res.Text)-100:])
	}
}

func TestListDirErrors(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	elsewhere := t.TempDir()
	cases := []struct {
		name, args, want string
		outside          bool
	}{
		{"a file", `{"path":"main.go"}`, "is a file, not a folder", false},
		{"depth 0", `{"depth":0}`, `"depth": minimum: got 0, want 1`, false},
		{"missing folder", `{"path":"nope"}`, "no such file", false},
		{"dot-dot escape", `{"path":"../x"}`, "outside the workspace root", true},
		{"absolute path elsewhere", fmt.Sprintf(`{"path":%q}`, elsewhere), "outside the workspace root", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(t, env, ListDir{}, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.outside != errors.Is(err, workspace.ErrOutsideRoot) {
				t.Errorf("errors.Is(err, ErrOutsideRoot) = %v", !c.outside)
			}
		})
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KB", 5 << 20: "5.0 MB", 3 << 30: "3.0 GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func listDirMkdir(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
}
