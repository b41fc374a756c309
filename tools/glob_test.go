package tools

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		name, args string
		want       []string
	}{
		{"any depth, ignored files and folders skipped", `{"pattern":"**/*.go"}`,
			[]string{"main.go", "sub/real.go", "util.go"}},
		{"star stays in the top folder", `{"pattern":"*.go"}`,
			[]string{"main.go", "util.go"}},
		{"negated ignore pattern", `{"pattern":"**/*.log"}`,
			[]string{"keep.log"}},
		{"everything, .git skipped, dotfiles kept", `{"pattern":"**"}`,
			[]string{".gitignore", "bin.dat", "keep.log", "main.go", "sub/.gitignore", "sub/deep/d.txt", "sub/real.go", "util.go"}},
		{"relative to path", `{"pattern":"**","path":"sub"}`,
			[]string{"sub/.gitignore", "sub/deep/d.txt", "sub/real.go"}},
		{"star in a folder", `{"pattern":"sub/*"}`,
			[]string{"sub/.gitignore", "sub/real.go"}},
		{"star for a folder", `{"pattern":"*/real.go"}`,
			[]string{"sub/real.go"}},
		{"static prefix", `{"pattern":"sub/deep/*.txt"}`,
			[]string{"sub/deep/d.txt"}},
		{"braces", `{"pattern":"{main,util}.go"}`,
			[]string{"main.go", "util.go"}},
		{"braces with folders", `{"pattern":"{sub/deep,sub}/*.{txt,go}"}`,
			[]string{"sub/deep/d.txt", "sub/real.go"}},
		{"character class", `{"pattern":"[mu]*.go"}`,
			[]string{"main.go", "util.go"}},
		{"leading ./", `{"pattern":"./sub/*.go"}`,
			[]string{"sub/real.go"}},
		{"an ignored folder named outright stays ignored", `{"pattern":"build/**"}`,
			[]string{}},
		{"no match", `{"pattern":"**/*.rs"}`, []string{}},
	}
	env, _ := fileEnv(t, searchTree)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := call(t, env, Glob{}, c.args)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Data.(GlobData)
			if !reflect.DeepEqual(d.Files, c.want) || d.Total != len(c.want) || d.Truncated {
				t.Errorf("files %q (total %d), want %q", d.Files, d.Total, c.want)
			}
			want := strings.Join(c.want, "\n") + "\n"
			if len(c.want) == 0 {
				want = "No files match "
			}
			if !strings.HasPrefix(res.Text, want) {
				t.Errorf("text %q, want it to start with %q", res.Text, want)
			}
		})
	}
}

func TestGlobSeesChangeset(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	if _, err := env.Changes.WriteFile("new/pkg/a.go", []byte("package pkg\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Changes.Remove("util.go"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args string
		want []string
	}{
		{`{"pattern":"**/*.go"}`, []string{"main.go", "new/pkg/a.go", "sub/real.go"}},
		{`{"pattern":"**/*.go","path":"new"}`, []string{"new/pkg/a.go"}},
		{`{"pattern":"*/*/a.go"}`, []string{"new/pkg/a.go"}},
	}
	for _, c := range cases {
		res, err := call(t, env, Glob{}, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Data.(GlobData).Files; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.args, got, c.want)
		}
	}
}

func TestGlobCap(t *testing.T) {
	files := map[string]string{}
	for i := range globMaxResults + 5 {
		files[fmt.Sprintf("d/f%04d.txt", i)] = ""
	}
	env, _ := fileEnv(t, files)
	res, err := call(t, env, Glob{}, `{"pattern":"**/*.txt"}`)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Data.(GlobData)
	if len(d.Files) != globMaxResults || d.Total != globMaxResults+5 || !d.Truncated || d.Files[globMaxResults-1] != "d/f0999.txt" {
		t.Errorf("%d files of %d (truncated %v), last %q", len(d.Files), d.Total, d.Truncated, d.Files[len(d.Files)-1])
	}
	if !strings.HasSuffix(res.Text, "(showing the first 1000 of 1005 matching files; narrow the pattern or path)") {
		t.Errorf("no cap note: ...%s", res.Text[len(res.Text)-100:])
	}
}

func TestGlobErrors(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	elsewhere := t.TempDir()
	cases := []struct {
		name, args, want string
		outside          bool
	}{
		{"missing pattern", `{}`, `"pattern" is required`, false},
		{"bad pattern", `{"pattern":"src/[a"}`, "bad glob pattern", false},
		{"absolute pattern", `{"pattern":"/etc/*"}`, "must be relative", false},
		{"missing path", `{"pattern":"*","path":"nope"}`, "no such file", false},
		{"dot-dot escape", `{"pattern":"*","path":"../x"}`, "outside the workspace root", true},
		{"absolute path elsewhere", fmt.Sprintf(`{"pattern":"*","path":%q}`, elsewhere), "outside the workspace root", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(t, env, Glob{}, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.outside != errors.Is(err, workspace.ErrOutsideRoot) {
				t.Errorf("errors.Is(err, ErrOutsideRoot) = %v", !c.outside)
			}
		})
	}
}

// TestGlobFilterPrunes checks that pruning never hides a folder that can
// hold a match, against matching every path without it.
func TestGlobFilterPrunes(t *testing.T) {
	paths := []string{"a.go", "a/b.go", "a/b/c.go", "a/b/c/d.go", "x/a/b.go", "ab/b.go"}
	patterns := []string{"*.go", "*/*.go", "a/*.go", "a/**/*.go", "a/b/*.go", "**/b.go", "a/b", "{a,x}/*.go", "a*/b.go", "?/b.go"}
	for _, p := range patterns {
		f, err := newGlobFilter("glob", p, ".", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, rel := range paths {
			want := f.match(rel)
			pruned := false
			for dir := rel; strings.Contains(dir, "/"); {
				dir = dir[:strings.LastIndex(dir, "/")]
				pruned = pruned || f.skipDir(dir)
			}
			if want && pruned {
				t.Errorf("pattern %q: %s matches but a folder on its way is pruned", p, rel)
			}
		}
	}
	// And it does prune: a two-level pattern need not descend three levels.
	f, _ := newGlobFilter("glob", "*/*.go", ".", false)
	if !f.skipDir("a/b") || f.skipDir("a") {
		t.Error("*/*.go: want a/b pruned and a kept")
	}
	f, _ = newGlobFilter("glob", "a/**/*.go", ".", false)
	if !f.skipDir("x") || f.skipDir("a/b/c") {
		t.Error("a/**/*.go: want x pruned and a/b/c kept")
	}
}
