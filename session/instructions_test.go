package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

// TestProjectInstructions: the user's AGENTS.md, then the repository's
// from the root down to the working folder, CLAUDE.md only where a
// folder has no AGENTS.md; folders beside the path, and a file leading
// out of the workspace, are not read.
func TestProjectInstructions(t *testing.T) {
	root, outside, config := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	files := map[string]string{
		filepath.Join(config, "loom", "AGENTS.md"):  "USER-WIDE",
		filepath.Join(root, "AGENTS.md"):            "ROOT-AGENTS",
		filepath.Join(root, "CLAUDE.md"):            "ROOT-CLAUDE",
		filepath.Join(root, "a", "CLAUDE.md"):       "A-CLAUDE",
		filepath.Join(root, "a", "b", "AGENTS.md"):  "AB-AGENTS",
		filepath.Join(root, "other", "AGENTS.md"):   "OTHER",
		filepath.Join(outside, "AGENTS.md"):         "OUTSIDE",
		filepath.Join(root, "a", "b", "c", "x.txt"): "x",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "AGENTS.md"), filepath.Join(root, "a", "b", "c", "AGENTS.md")); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(root)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir       string
		want, not []string // want in order
	}{
		{"", []string{"USER-WIDE", "ROOT-AGENTS"}, []string{"ROOT-CLAUDE", "A-CLAUDE", "OTHER"}},
		{filepath.Join(root, "a", "b", "c"), []string{"USER-WIDE", "ROOT-AGENTS", "A-CLAUDE", "AB-AGENTS"}, []string{"ROOT-CLAUDE", "OTHER", "OUTSIDE"}},
		{outside, []string{"USER-WIDE", "ROOT-AGENTS"}, []string{"OUTSIDE", "A-CLAUDE"}},
	}
	for _, tt := range tests {
		got := ProjectInstructions(ws, tt.dir)
		at := 0
		for _, w := range tt.want {
			i := strings.Index(got[at:], w)
			if i < 0 {
				t.Errorf("dir %q: %q missing or out of order in:\n%s", tt.dir, w, got)
				break
			}
			at += i
		}
		for _, n := range tt.not {
			if strings.Contains(got, n) {
				t.Errorf("dir %q: %q read:\n%s", tt.dir, n, got)
			}
		}
	}
}
