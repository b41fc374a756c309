package ralph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// lockName is the file a running loop holds locked in the folder it works
// in: two loops editing, checking and committing one tree would undo each
// other's work. The lock is the kernel's (flock), so it ends with the
// process, however it ends.
var lockName = path.Join(RecordDir, "lock")

// ErrLoopRunning refuses a loop where another one is running.
var ErrLoopRunning = errors.New("another Ralph loop is running in this folder")

// lock takes the folder root's loop lock for loop id, or says which loop
// holds it. unlock releases it.
func lock(root, id string) (unlock func(), err error) {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	if err := rt.MkdirAll(RecordDir, 0o755); err != nil {
		return nil, fmt.Errorf("the loop's lock: %w", err)
	}
	f, err := rt.OpenFile(lockName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the loop's lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 64))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if h := strings.TrimSpace(string(holder)); h != "" {
				return nil, fmt.Errorf("%w (loop %s): wait for it, or stop it with Ctrl+C where it runs", ErrLoopRunning, h)
			}
			return nil, ErrLoopRunning
		}
		return nil, fmt.Errorf("the loop's lock: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(id+"\n"), 0)
	return func() {
		f.Truncate(0)
		f.Close() // closing releases the lock
	}, nil
}
