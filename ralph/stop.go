package ralph

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// A stop request is a file, .loom/ralph/ID.stop, in the folder a loop
// works in (where it holds its lock), which the loop looks for between
// its steps. A file rather than a signal: it works from any terminal or
// process that can write the folder, it names the loop it is for (a
// request left over from an earlier loop stops nothing), and there is no
// pid to outlive its process.

// ErrNoLoop says no loop runs where a stop was asked for.
var ErrNoLoop = errors.New("no Ralph loop is running")

// Running is a loop that holds its folder's lock.
type Running struct {
	ID string
	// Dir is the folder it works in: the repository, or its worktree.
	Dir string
}

// stopName is loop id's stop request, relative to the folder it works in.
func stopName(id string) string { return path.Join(RecordDir, id+".stop") }

// validID refuses an ID that could name a file elsewhere.
func validID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/\\\x00") && id != "." && id != ".."
}

// holder reports the loop holding dir's lock: its ID, "" when none does.
func holder(dir string) (string, error) {
	rt, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer rt.Close()
	f, err := rt.Open(lockName)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("the loop's lock: %w", err)
	}
	defer f.Close()
	// A shared lock is refused while a loop holds its exclusive one; got,
	// it is let go at once.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return "", nil
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		return "", fmt.Errorf("the loop's lock: %w", err)
	}
	b, _ := io.ReadAll(io.LimitReader(f, 128))
	id := strings.TrimSpace(string(b))
	if !validID(id) {
		return "", fmt.Errorf("a Ralph loop is starting in %s; try again in a moment", dir)
	}
	return id, nil
}

// RunningIn finds the loop running in root: in root itself, else in the
// worktree of one of root's loops that has not ended (`--worktree`).
func RunningIn(root string) (Running, error) {
	id, err := holder(root)
	if err != nil || id != "" {
		return Running{ID: id, Dir: root}, err
	}
	recs, err := Records(root)
	if err != nil {
		return Running{}, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Worktree == "" || r.State.Terminal() {
			continue
		}
		if id, err := holder(r.Worktree); err == nil && id == r.ID {
			return Running{ID: id, Dir: r.Worktree}, nil
		}
	}
	return Running{}, fmt.Errorf("%w in %s", ErrNoLoop, root)
}

// RequestStop asks the loop running in root (or in a worktree of its
// loops) to stop after the iteration in flight, and returns which loop it
// asked. want, when not "", is the ID (or a prefix of it) the running
// loop must have.
func RequestStop(root, want string) (Running, error) {
	r, err := RunningIn(root)
	if err != nil {
		return Running{}, err
	}
	if want != "" && !strings.HasPrefix(r.ID, want) {
		return Running{}, fmt.Errorf("%w in %s as %q (loop %s runs there)", ErrNoLoop, root, want, r.ID)
	}
	rt, err := os.OpenRoot(r.Dir)
	if err != nil {
		return Running{}, err
	}
	defer rt.Close()
	if err := rt.WriteFile(stopName(r.ID), []byte("stop\n"), 0o644); err != nil {
		return Running{}, fmt.Errorf("asking loop %s to stop: %w", r.ID, err)
	}
	// The loop may have ended meanwhile: then the request is taken back,
	// so that no file is left that nothing will read.
	if id, err := holder(r.Dir); err == nil && id != r.ID {
		rt.Remove(stopName(r.ID))
		return Running{}, fmt.Errorf("%w in %s (loop %s ended meanwhile)", ErrNoLoop, root, r.ID)
	}
	return r, nil
}

// stopRequested reports whether loop id, working in dir, was asked to stop.
func stopRequested(dir, id string) bool {
	rt, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer rt.Close()
	_, err = rt.Lstat(stopName(id))
	return err == nil
}

// clearStop removes loop id's stop request, if any.
func clearStop(dir, id string) {
	if rt, err := os.OpenRoot(dir); err == nil {
		rt.Remove(stopName(id))
		rt.Close()
	}
}
