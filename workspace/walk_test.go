package workspace

import (
	"context"
	"reflect"
	"testing"
)

// TestWalkSubfolderHonoursParentIgnores walks a subfolder: the rules of
// .gitignore files above it (the root's, a parent's) and of
// .git/info/exclude still apply inside it, as git applies them.
func TestWalkSubfolderHonoursParentIgnores(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{
		".gitignore":        "*.log\n/top.txt\n",
		".git/info/exclude": "*.bak\n",
		"a/.gitignore":      "gen/\n",
		"a/b/debug.log":     "x\n",
		"a/b/keep.go":       "package b\n",
		"a/b/old.bak":       "x\n",
		"a/b/gen/out.go":    "package gen\n",
		"a/b/top.txt":       "anchored to the root: not ignored here\n",
		"a/b/.gitignore":    "!important.log\n",
		"a/b/important.log": "negated below\n",
		"other/skipped.go":  "package other\n",
		"a/b/c/deeper.log":  "x\n",
		"a/b/c/deeper.go":   "package c\n",
	})
	tests := []struct {
		dir  string
		want []string
	}{
		{"a/b", []string{"a/b/.gitignore", "a/b/c/deeper.go", "a/b/important.log", "a/b/keep.go", "a/b/top.txt"}},
		{"a/b/c", []string{"a/b/c/deeper.go"}},
		{"a", []string{"a/.gitignore", "a/b/.gitignore", "a/b/c/deeper.go", "a/b/important.log", "a/b/keep.go", "a/b/top.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			var got []string
			err := ws.NewChangeset().Walk(context.Background(), tt.dir, func(rel string, isDir bool) error {
				if !isDir {
					got = append(got, rel)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Walk(%s) = %q, want %q", tt.dir, got, tt.want)
			}
		})
	}
}
