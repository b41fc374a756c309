package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stage describes the edits of one round-trip case.
type stage func(t *testing.T, cs *Changeset)

func write(path, content string) stage {
	return func(t *testing.T, cs *Changeset) {
		if _, err := cs.WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(path string) stage {
	return func(t *testing.T, cs *Changeset) {
		if _, err := cs.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

func move(from, to string) stage {
	return func(t *testing.T, cs *Changeset) {
		if _, _, err := cs.Move(from, to); err != nil {
			t.Fatal(err)
		}
	}
}

var roundTripCases = []struct {
	name   string
	before map[string]string
	edits  []stage
	after  map[string]string
}{
	{
		name:   "modify middle",
		before: map[string]string{"a.txt": "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"},
		edits:  []stage{write("a.txt", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n")},
		after:  map[string]string{"a.txt": "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n"},
	},
	{
		name:   "two hunks",
		before: map[string]string{"a.txt": strings.Repeat("line\n", 30)},
		edits:  []stage{write("a.txt", "first\n"+strings.Repeat("line\n", 28)+"last\n")},
		after:  map[string]string{"a.txt": "first\n" + strings.Repeat("line\n", 28) + "last\n"},
	},
	{
		name:   "create nested",
		before: map[string]string{"keep.txt": "k\n"},
		edits:  []stage{write("new/dir/b.go", "package b\n")},
		after:  map[string]string{"keep.txt": "k\n", "new/dir/b.go": "package b\n"},
	},
	{
		name:   "create empty file",
		before: map[string]string{"keep.txt": "k\n"},
		edits:  []stage{write("empty.txt", "")},
		after:  map[string]string{"keep.txt": "k\n", "empty.txt": ""},
	},
	{
		name:   "delete",
		before: map[string]string{"a.txt": "a\nb\n", "keep.txt": "k\n"},
		edits:  []stage{remove("a.txt")},
		after:  map[string]string{"keep.txt": "k\n"},
	},
	{
		name:   "rename",
		before: map[string]string{"old.txt": "same\n"},
		edits:  []stage{move("old.txt", "dir/new.txt")},
		after:  map[string]string{"dir/new.txt": "same\n"},
	},
	{
		name:   "rename and modify",
		before: map[string]string{"old.txt": "1\n2\n3\n"},
		edits:  []stage{move("old.txt", "new.txt"), write("new.txt", "1\ntwo\n3\n")},
		after:  map[string]string{"new.txt": "1\ntwo\n3\n"},
	},
	{
		name:   "old file without final newline",
		before: map[string]string{"a.txt": "a\nb"},
		edits:  []stage{write("a.txt", "a\nb\nc\n")},
		after:  map[string]string{"a.txt": "a\nb\nc\n"},
	},
	{
		name:   "new file without final newline",
		before: map[string]string{"a.txt": "a\nb\n"},
		edits:  []stage{write("a.txt", "a\nB")},
		after:  map[string]string{"a.txt": "a\nB"},
	},
	{
		name:   "neither has a final newline",
		before: map[string]string{"a.txt": "a\nb\nc"},
		edits:  []stage{write("a.txt", "A\nb\nc")},
		after:  map[string]string{"a.txt": "A\nb\nc"},
	},
	{
		name:   "CRLF file",
		before: map[string]string{"w.txt": "one\r\ntwo\r\nthree\r\n"},
		edits:  []stage{write("w.txt", "one\r\n2\r\nthree\r\n")},
		after:  map[string]string{"w.txt": "one\r\n2\r\nthree\r\n"},
	},
	{
		name:   "multibyte text",
		before: map[string]string{"u.txt": "héllo 世界\n🙂 smile\n"},
		edits:  []stage{write("u.txt", "héllo 世界\n🙃 upside\n")},
		after:  map[string]string{"u.txt": "héllo 世界\n🙃 upside\n"},
	},
	{
		name:   "several files at once",
		before: map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"},
		edits:  []stage{write("a.txt", "A\n"), remove("b.txt"), move("c.txt", "d.txt"), write("e.txt", "e\n")},
		after:  map[string]string{"a.txt": "A\n", "d.txt": "c\n", "e.txt": "e\n"},
	},
}

// TestDiffRoundTrip renders each changeset as a diff and applies it with
// git apply, patch -p1 and Loom's own parser: all three give the same files
// as applying the changeset directly.
func TestDiffRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			ws, dir := newWorkspace(t, tc.before)
			cs := ws.NewChangeset()
			for _, e := range tc.edits {
				e(t, cs)
			}
			diff, err := cs.Diff()
			if err != nil {
				t.Fatal(err)
			}
			if got := readTree(t, dir); !reflect.DeepEqual(got, tc.before) {
				t.Fatalf("staging wrote to disk: files = %q\nwant %q", got, tc.before)
			}

			t.Run("git apply", func(t *testing.T) {
				repo := t.TempDir()
				writeTree(t, repo, tc.before)
				gitApply(t, repo, diff)
				assertTree(t, repo, tc.after, diff)
			})
			t.Run("patch -p1", func(t *testing.T) {
				repo := t.TempDir()
				writeTree(t, repo, tc.before)
				cmd := exec.Command("patch", "-p1", "--batch", "--silent")
				cmd.Dir, cmd.Stdin = repo, strings.NewReader(diff)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("patch -p1: %v\n%s\ndiff:\n%s", err, out, diff)
				}
				assertTree(t, repo, tc.after, diff)
			})
			t.Run("ApplyPatch", func(t *testing.T) {
				ws2, dir2 := newWorkspace(t, tc.before)
				cs2 := ws2.NewChangeset()
				if _, err := cs2.ApplyPatch(diff); err != nil {
					t.Fatalf("ApplyPatch: %v\ndiff:\n%s", err, diff)
				}
				if _, err := cs2.Apply(); err != nil {
					t.Fatal(err)
				}
				assertTree(t, dir2, tc.after, diff)
			})
			t.Run("Apply", func(t *testing.T) {
				if _, err := cs.Apply(); err != nil {
					t.Fatal(err)
				}
				assertTree(t, dir, tc.after, diff)
				if !cs.Empty() {
					t.Error("changeset not emptied after Apply")
				}
			})
		})
	}
}

func gitApply(t *testing.T, repo, diff string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q"}, {"apply", "--whitespace=nowarn", "-"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Stdin = repo, strings.NewReader(diff)
		// Not the machine's git configuration: only the diff decides.
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s\ndiff:\n%s", args[0], err, out, diff)
		}
	}
}

func assertTree(t *testing.T, dir string, want map[string]string, diff string) {
	t.Helper()
	got := readTree(t, dir)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q\nwant %q\ndiff:\n%s", got, want, diff)
	}
}

// TestDiffGolden pins the exact text of a small diff.
func TestDiffGolden(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{"a.go": "package a\n\nfunc A() {}\n", "gone.txt": "x\n"})
	cs := ws.NewChangeset()
	write("a.go", "package a\n\nfunc A() int { return 1 }\n")(t, cs)
	remove("gone.txt")(t, cs)
	diff, err := cs.Diff()
	if err != nil {
		t.Fatal(err)
	}
	want := `diff --git a/a.go b/a.go
--- a/a.go
+++ b/a.go
@@ -1,3 +1,3 @@
 package a
 
-func A() {}
+func A() int { return 1 }
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 587be6b..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,1 +0,0 @@
-x
`
	if diff != want {
		t.Errorf("diff =\n%s\nwant\n%s", diff, want)
	}
}

func TestDiffKeepsExecutableMode(t *testing.T) {
	ws, dir := newWorkspace(t, map[string]string{"run.sh": "#!/bin/sh\necho a\n"})
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	write("run.sh", "#!/bin/sh\necho b\n")(t, cs)
	if _, err := cs.Apply(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want 0755", fi.Mode().Perm())
	}
}

func TestEmptyChangesetRendersNothing(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{"a.txt": "a\n"})
	cs := ws.NewChangeset()
	write("a.txt", "b\n")(t, cs)
	write("a.txt", "a\n")(t, cs) // back to where it began
	if diff, err := cs.Diff(); err != nil || diff != "" {
		t.Errorf("Diff() = %q, %v; want empty", diff, err)
	}
}
