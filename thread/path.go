package thread

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/loom-agent/loom/internal/userdir"
)

// EnvDB names the environment variable that overrides the database path.
const EnvDB = "LOOM_DB"

// DefaultPath returns where the thread database lives: $LOOM_DB, else
// $XDG_DATA_HOME/loom/threads.db, else ~/.local/share/loom/threads.db.
//
// Editors may start Loom with nothing but PATH in its environment
// (avante.nvim does), so without $HOME the home folder is looked up in the
// user database (/etc/passwd). Only when that fails too does it fall back
// to a private folder in the system temporary directory,
// $TMPDIR/loom-<uid>/threads.db, which it creates with mode 0700 and
// refuses if another user owns it.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvDB); p != "" {
		return p, nil
	}
	// The XDG spec says relative values are invalid and must be ignored.
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "loom", "threads.db"), nil
	}
	if home := homeDir(); home != "" {
		return filepath.Join(home, ".local", "share", "loom", "threads.db"), nil
	}
	dir := filepath.Join(os.TempDir(), "loom-"+strconv.Itoa(os.Getuid()))
	if err := privateDir(dir); err != nil {
		return "", fmt.Errorf("no home folder ($HOME unset, no user database entry) and no usable fallback: %w; set %s", err, EnvDB)
	}
	return filepath.Join(dir, "threads.db"), nil
}

// homeDir is $HOME, or the home folder of the user database entry.
func homeDir() string {
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		return h
	}
	if u, err := user.Current(); err == nil && filepath.IsAbs(u.HomeDir) && u.HomeDir != "/" {
		return u.HomeDir
	}
	return ""
}

// privateDir makes sure dir exists, is a real folder (not a symlink) owned
// by this user and closed to others: /tmp is shared, and a folder planted
// there by someone else must not receive our threads.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return userdir.Check(dir, 0o077)
}
