// Package workspace confines every file access to a root folder, keeps an
// overlay of unsaved editor buffers over the disk, and stages edits in
// changesets that render as unified diffs or LSP text edits and apply to
// disk atomically.
//
// Nothing in Loom writes the user's files except Changeset.Apply.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/loom-agent/loom/internal/beneath"
)

// MaxFileSize is the largest file the workspace reads into memory. Larger
// files are refused with a clear error rather than exhausting memory.
const MaxFileSize = 16 << 20

// Workspace is a root folder plus the overlay of unsaved editor buffers.
// It is safe for concurrent use.
type Workspace struct {
	root     string // absolute, symlinks resolved
	given    string // absolute, as the caller named it
	fsys     *beneath.Root
	mu       sync.RWMutex
	buffers  map[string]string // rel path -> unsaved text
	maxBytes int64
}

// New opens the workspace rooted at dir, which must be an existing folder.
func New(dir string) (*Workspace, error) {
	if strings.IndexByte(dir, 0) >= 0 {
		return nil, errors.New("workspace root contains a NUL byte")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("workspace root %s: %w", dir, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("workspace root %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("workspace root %s is not a folder", dir)
	}
	// Every disk access below goes through this root: paths are resolved
	// with openat, so nothing swapped in after Resolve leads outside.
	fsys, err := beneath.Open(real)
	if err != nil {
		return nil, fmt.Errorf("workspace root %s: %w", dir, err)
	}
	return &Workspace{root: real, given: abs, fsys: fsys, buffers: map[string]string{}, maxBytes: MaxFileSize}, nil
}

// Root returns the absolute root folder with symlinks resolved.
func (w *Workspace) Root() string { return w.root }

// Stamp stats rel (slash-separated, local) on disk, following a final
// symlink: its size, modification time and type, which caches compare to
// tell a file or folder unchanged. One system call, no allocation.
func (w *Workspace) Stamp(rel string) (beneath.Stamp, error) { return w.fsys.Stamp(rel) }

// Abs returns the absolute disk path of a confined relative path.
func (w *Workspace) Abs(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// SetBuffer records the unsaved text of an open editor buffer. Reads see it
// instead of the disk until ClearBuffer.
func (w *Workspace) SetBuffer(path string, text []byte) error {
	return w.SetBufferText(path, string(text))
}

// SetBufferText is SetBuffer for text already held as a string, which is
// kept without a copy: an editor sends a buffer's changes on every
// keystroke, and reads of it are far rarer.
func (w *Workspace) SetBufferText(path string, text string) error {
	rel, err := w.Resolve(path)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.buffers[rel] = text
	w.mu.Unlock()
	return nil
}

// ClearBuffer forgets the unsaved text of a buffer (closed or saved).
func (w *Workspace) ClearBuffer(path string) error {
	rel, err := w.Resolve(path)
	if err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.buffers, rel)
	w.mu.Unlock()
	return nil
}

// Buffer returns a copy of the unsaved text of a buffer, if one is open.
func (w *Workspace) Buffer(rel string) ([]byte, bool) {
	w.mu.RLock()
	b, ok := w.buffers[rel]
	w.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return []byte(b), true
}

// BufferSize returns the length of a buffer's unsaved text, if one is open.
func (w *Workspace) BufferSize(rel string) (int, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b, ok := w.buffers[rel]
	return len(b), ok
}

// Buffers lists the paths that have an open buffer, sorted.
func (w *Workspace) Buffers() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]string, 0, len(w.buffers))
	for rel := range w.buffers {
		out = append(out, rel)
	}
	sort.Strings(out)
	return out
}

// ReadFile reads a confined file, seeing an open buffer before the disk.
func (w *Workspace) ReadFile(path string) ([]byte, error) {
	rel, err := w.Resolve(path)
	if err != nil {
		return nil, err
	}
	if b, ok := w.Buffer(rel); ok {
		return b, nil
	}
	return w.readDisk(rel)
}

// readDisk reads rel from disk if it is a regular file within the size
// limit; folders, FIFOs, sockets and devices are refused.
func (w *Workspace) readDisk(rel string) ([]byte, error) {
	b, err := w.fsys.ReadFile(rel, w.maxBytes)
	if err != nil {
		return nil, pathError("read", rel, err)
	}
	return b, nil
}

// ReadDiskInto reads rel from disk, ignoring open buffers, reusing buf's
// storage; it refuses what readDisk refuses. Searches over many files use
// it to spare an allocation per file.
func (w *Workspace) ReadDiskInto(rel string, buf []byte) ([]byte, error) {
	b, err := w.fsys.ReadFileInto(rel, w.maxBytes, buf)
	if err != nil {
		return nil, pathError("read", rel, err)
	}
	return b, nil
}

// IsBinaryOnDisk reports whether the file rel on disk looks binary by its
// first bytes, as IsBinary judges whole contents; it reads no more, so it
// suits files over the size limit.
func (w *Workspace) IsBinaryOnDisk(rel string) bool {
	b, err := w.fsys.ReadHead(rel, binarySniffLen)
	return err == nil && isBinary(b)
}

// statDisk reports whether rel exists on disk and its mode.
func (w *Workspace) statDisk(rel string) (fs.FileMode, bool, error) {
	fi, err := w.fsys.OS().Stat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, pathError("stat", rel, err)
	}
	return fi.Mode(), true, nil
}

// pathError rewrites an OS error to name the relative path, so messages do
// not leak absolute paths and read the same on every machine.
func pathError(op, rel string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var tooLarge *beneath.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &opError{fmt.Sprintf("%s %s: no such file", op, rel), fs.ErrNotExist}
	case errors.Is(err, fs.ErrPermission):
		return &opError{fmt.Sprintf("%s %s: permission denied", op, rel), fs.ErrPermission}
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%s %s: too many levels of symbolic links", op, rel)
	case errors.Is(err, beneath.ErrEscapes):
		return fmt.Errorf("%s %s: %w", op, rel, ErrOutsideRoot)
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%s %s: %w", op, rel, err)
	}
	return fmt.Errorf("%s %s: %w", op, rel, err)
}

// opError says what failed in its own words and still matches its cause
// with errors.Is, without repeating the cause's text.
type opError struct {
	text  string
	cause error
}

func (e *opError) Error() string { return e.text }
func (e *opError) Unwrap() error { return e.cause }

// TooLargeError refuses a file over the size limit before it is read.
type TooLargeError = beneath.TooLargeError

// ErrNotRegular is wrapped by every error that refuses a FIFO, socket,
// device or folder where a regular file was wanted.
var ErrNotRegular = beneath.ErrNotRegular
