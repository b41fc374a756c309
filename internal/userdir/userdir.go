// Package userdir checks that a folder Loom keeps private files in (the
// thread database, the MCP token) is the user's own: a real folder, not a
// symlink, owned by this user, and closed to others in the given ways. In
// a shared place such as /tmp, a folder planted by someone else must not
// receive them. A leaf.
package userdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Check refuses dir when it is not a real folder owned by this user, or
// when any of the permission bits in others (e.g. 0o022: writable by
// others; 0o077: open to others at all) are set.
func Check(dir string, others fs.FileMode) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user", dir)
	}
	if fi.Mode().Perm()&others != 0 {
		return fmt.Errorf("%s is open to other users (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}
