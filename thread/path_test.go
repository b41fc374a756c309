package thread

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"
)

// TestDefaultPath: where the database goes, by environment. Nothing is
// opened or created: with HOME unset the path is the user's real home
// folder, taken from the user database, which a test must not touch.
func TestDefaultPath(t *testing.T) {
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil || !filepath.IsAbs(u.HomeDir) || u.HomeDir == "/" {
		t.Fatalf("this test needs a user database entry with a home folder: %+v, %v", u, err)
	}
	tests := []struct {
		name                  string
		loomDB, xdgData, home string
		want                  string
	}{
		{"LOOM_DB first", filepath.Join(dir, "env.db"), filepath.Join(dir, "xdg"), filepath.Join(dir, "home"), filepath.Join(dir, "env.db")},
		{"then XDG_DATA_HOME", "", filepath.Join(dir, "xdg"), filepath.Join(dir, "home"), filepath.Join(dir, "xdg", "loom", "threads.db")},
		{"a relative XDG_DATA_HOME is ignored", "", "xdg", filepath.Join(dir, "home"), filepath.Join(dir, "home", ".local", "share", "loom", "threads.db")},
		{"then HOME", "", "", filepath.Join(dir, "home"), filepath.Join(dir, "home", ".local", "share", "loom", "threads.db")},
		{"without HOME, the user database (PATH alone, as avante.nvim starts agents)", "", "", "", filepath.Join(u.HomeDir, ".local", "share", "loom", "threads.db")},
		{"a relative HOME is ignored", "", "", "home", filepath.Join(u.HomeDir, ".local", "share", "loom", "threads.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvDB, tt.loomDB)
			t.Setenv("XDG_DATA_HOME", tt.xdgData)
			t.Setenv("HOME", tt.home)
			got, err := DefaultPath()
			if err != nil || got != tt.want {
				t.Errorf("DefaultPath() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("DefaultPath created %d entries in %s", len(entries), dir)
	}
}
