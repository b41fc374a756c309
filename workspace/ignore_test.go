package workspace

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestWalkListsWhatGitLists walks the root and subfolders of a repository
// whose ignore rules come from everywhere git reads them (.git/info/exclude,
// the root's .gitignore, a nested one with negations, anchored and folder
// patterns) and compares each list with git's own: `git ls-files --others
// --exclude-standard` of the same folder.
func TestWalkListsWhatGitLists(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		// The user's global excludes must not change git's answer.
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "XDG_CONFIG_HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	writeTree(t, dir, map[string]string{
		".git/info/exclude":    "# local rules\nsecret.txt\n",
		".gitignore":           "*.log\n/build/\n!keep.log\n",
		"a.go":                 "package a\n",
		"debug.log":            "ignored by the root\n",
		"keep.log":             "re-included by the root\n",
		"secret.txt":           "ignored by info/exclude\n",
		"build/out.bin":        "ignored folder\n",
		"docs/readme.md":       "kept\n",
		"sub/.gitignore":       "*.tmp\n!important.log\n",
		"sub/secret.txt":       "info/exclude applies at any depth\n",
		"sub/debug.log":        "the root's rule applies below\n",
		"sub/important.log":    "re-included by sub\n",
		"sub/x.tmp":            "ignored by sub\n",
		"sub/b.go":             "package sub\n",
		"sub/build/c.go":       "/build/ is anchored at the root\n",
		"sub/deep/y.tmp":       "ignored by sub\n",
		"sub/deep/z.go":        "package deep\n",
		"sub/deep/trace.log":   "ignored by the root\n",
		"sub/deep/.gitignore":  "z.go\n",
		"other/keep/d.go":      "package keep\n",
		"other/keep/notes.txt": "kept\n",
	})
	ws, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{".", "sub", "sub/deep", "other"} {
		t.Run(folder, func(t *testing.T) {
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(git("ls-files", "--others", "--exclude-standard", "--", folder)), "\n") {
				if l != "" {
					want = append(want, l)
				}
			}
			var got []string
			err := ws.NewChangeset().Walk(context.Background(), folder, func(rel string, isDir bool) error {
				if !isDir {
					got = append(got, rel)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Walk(%q) lists\n  %q\ngit lists\n  %q", folder, got, want)
			}
		})
	}
}
