package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzApplyPatch feeds arbitrary text to the diff parser and hunk matcher
// over a fixed tree: it must never panic, never touch the disk, and a patch
// it accepts must render back to a diff that it accepts again.
func FuzzApplyPatch(f *testing.F) {
	seeds := []string{
		"--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n",
		"diff --git a/a.txt b/a.txt\nindex 0000000..1111111 100644\n--- a/a.txt\n+++ b/a.txt\n@@ -3 +3 @@\n-three\n\\ No newline at end of file\n+three\n",
		"--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n",
		"--- a/a.txt\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-one\n-two\n-three\n",
		"diff --git a/a.txt b/b.txt\nsimilarity index 100%\nrename from a.txt\nrename to b.txt\n",
		"diff --git a/e.txt b/e.txt\nnew file mode 100644\n",
		"@@ -1 +1 @@\n-one\n+1\n",
		"--- a/a.txt\n+++ b/a.txt\n@@ -99,1 +99,1 @@\n-one\n+1\n",
		"--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-root\n+toor\n",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\ntwo\nthree"), 0o644); err != nil {
		f.Fatal(err)
	}
	ws, err := New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, patch string) {
		cs := ws.NewChangeset()
		if _, err := cs.ApplyPatch(patch); err != nil {
			return
		}
		diff, err := cs.Diff()
		if err != nil {
			t.Fatalf("Diff after an accepted patch: %v", err)
		}
		if diff == "" {
			return
		}
		for _, ch := range cs.Changes() {
			if IsBinary(ch.New) {
				return // rendered as "Binary files differ", as git diff without --binary does
			}
		}
		again := ws.NewChangeset()
		if _, err := again.ApplyPatch(diff); err != nil {
			t.Fatalf("the rendered diff of an accepted patch is refused: %v\npatch:\n%s\ndiff:\n%s", err, patch, diff)
		}
		for _, ch := range cs.Changes() {
			if ch.Kind == Delete {
				continue
			}
			got, err := again.ReadFile(ch.NewPath)
			if err != nil || string(got) != string(ch.New) {
				t.Fatalf("%s: round trip gave %q (%v), want %q\ndiff:\n%s", ch.NewPath, got, err, ch.New, diff)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "a.txt"))
		if err != nil || string(b) != "one\ntwo\nthree" {
			t.Fatalf("the disk changed: %q %v", b, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("the disk changed: %d entries", len(entries))
		}
	})
}
