package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestConfinement checks every escape for reads and for writes, including
// the symlink and prefix-twin cases of CVE-2025-53109 and CVE-2025-53110.
func TestConfinement(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "proj")
	twin := filepath.Join(base, "proj2")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, twin, outside, filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTree(t, root, map[string]string{"in.txt": "inside\n", "sub/deep.txt": "deep\n"})
	writeTree(t, outside, map[string]string{"secret.txt": "secret\n"})
	writeTree(t, twin, map[string]string{"secret.txt": "twin\n"})
	links := map[string]string{
		"link-out":      outside,                              // folder link leading out
		"sub/link-file": filepath.Join(outside, "secret.txt"), // file link leading out
		"sub/rel-out":   "../../outside",                      // relative link leading out
		"dangling":      filepath.Join(outside, "new.txt"),    // dangling link whose target is outside
		"link-in":       filepath.Join(root, "sub"),           // link that stays inside
		"chain":         "link-out",                           // link to a link that leads out
		"link-in-file":  "in.txt",                             // relative file link inside
		"sub/link-twin": twin,                                 // link to the prefix twin
		"loop":          "loop",                               // a link to itself
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		refused bool
		want    string // resolved relative path when allowed
	}{
		{"plain file", "in.txt", false, "in.txt"},
		{"nested file", "sub/deep.txt", false, "sub/deep.txt"},
		{"dotdot that stays inside", "sub/../in.txt", false, "in.txt"},
		{"root itself", ".", false, "."},
		{"absolute inside", filepath.Join(root, "in.txt"), false, "in.txt"},
		{"new file inside", "sub/new/file.txt", false, "sub/new/file.txt"},
		{"link inside", "link-in/deep.txt", false, "sub/deep.txt"},
		{"file link inside", "link-in-file", false, "in.txt"},
		{"dotdot escape", "../outside/secret.txt", true, ""},
		{"deep dotdot escape", "sub/../../outside/secret.txt", true, ""},
		{"absolute elsewhere", filepath.Join(outside, "secret.txt"), true, ""},
		{"absolute root path", "/etc/passwd", true, ""},
		{"prefix twin absolute", filepath.Join(twin, "secret.txt"), true, ""},
		{"prefix twin relative", "../proj2/secret.txt", true, ""},
		{"folder symlink out", "link-out/secret.txt", true, ""},
		{"file symlink out", "sub/link-file", true, ""},
		{"relative symlink out", "sub/rel-out/secret.txt", true, ""},
		{"new file under folder symlink out", "link-out/created.txt", true, ""},
		{"new folder under folder symlink out", "link-out/a/b/c.txt", true, ""},
		{"dangling symlink out", "dangling", true, ""},
		{"chained symlinks out", "chain/secret.txt", true, ""},
		{"symlink to prefix twin", "sub/link-twin/secret.txt", true, ""},
		{"symlink loop", "loop", true, ""},
		{"NUL byte", "in.txt\x00.png", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ws.Resolve(tt.path)
			if tt.refused {
				if err == nil {
					t.Fatalf("Resolve(%q) = %q, want refusal", tt.path, got)
				}
				// Reads and writes are refused too, and nothing is written.
				cs := ws.NewChangeset()
				if _, err := cs.ReadFile(tt.path); err == nil {
					t.Errorf("ReadFile(%q) succeeded", tt.path)
				}
				if _, err := cs.WriteFile(tt.path, []byte("pwned")); err == nil {
					t.Errorf("WriteFile(%q) succeeded", tt.path)
				}
				if _, err := cs.Remove(tt.path); err == nil {
					t.Errorf("Remove(%q) succeeded", tt.path)
				}
				if _, _, err := cs.Move("in.txt", tt.path); err == nil {
					t.Errorf("Move(in.txt, %q) succeeded", tt.path)
				}
				if _, err := cs.Apply(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.path, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
	if got := readTree(t, outside); len(got) != 1 || got["secret.txt"] != "secret\n" {
		t.Errorf("outside folder changed: %v", got)
	}
	if got := readTree(t, twin); len(got) != 1 || got["secret.txt"] != "twin\n" {
		t.Errorf("twin folder changed: %v", got)
	}
}

func TestResolveOutsideIsErrOutsideRoot(t *testing.T) {
	ws, _ := newWorkspace(t, nil)
	_, err := ws.Resolve("../x")
	if !errors.Is(err, ErrOutsideRoot) {
		t.Fatalf("err = %v, want ErrOutsideRoot", err)
	}
}

// TestRootThroughSymlink opens a root named through a symlink: absolute
// paths in either spelling stay inside.
func TestRootThroughSymlink(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	writeTree(t, real, map[string]string{"a.txt": "a"})
	alias := filepath.Join(base, "alias")
	if err := os.Symlink(real, alias); err != nil {
		t.Fatal(err)
	}
	ws, err := New(alias)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(alias, "a.txt"), filepath.Join(real, "a.txt"), "a.txt"} {
		if got, err := ws.Resolve(p); err != nil || got != "a.txt" {
			t.Errorf("Resolve(%q) = %q, %v", p, got, err)
		}
	}
}

// TestApplyRechecksConfinement swaps a folder for a symlink to the outside
// between staging and applying: the apply refuses and writes nothing.
func TestApplyRechecksConfinement(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	writeTree(t, root, map[string]string{"dir/a.txt": "a\n"})
	writeTree(t, outside, map[string]string{"a.txt": "a\n"})
	ws, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	if _, err := cs.WriteFile("dir/a.txt", []byte("changed\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "dir")); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(); !errors.Is(err, ErrOutsideRoot) {
		t.Fatalf("Apply err = %v, want ErrOutsideRoot", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "a.txt")); string(b) != "a\n" {
		t.Errorf("outside file changed to %q", b)
	}
}
