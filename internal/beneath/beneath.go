// Package beneath reads files below a root folder in a way a hostile
// repository cannot abuse. Every open goes through an *os.Root (openat
// resolution: no path, symlink or swapped folder leads outside the root),
// is non-blocking (a FIFO cannot hang the open), and is followed by fstat
// on the open descriptor: only regular files are read, and never more than
// a size cap. The checks are made on the file actually opened, so a file
// swapped between a listing and the read is judged as it really is.
//
// It is a leaf shared by workspace and analysis, which must not import
// each other.
package beneath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular is wrapped by every error that refuses a FIFO, socket,
// device or folder where a regular file was wanted.
var ErrNotRegular = errors.New("not a regular file")

// ErrEscapes is wrapped by every error that refuses a path because it
// resolves (through a symlink or a swapped folder) outside the root.
var ErrEscapes = errors.New("path leads outside the root")

// TooLargeError refuses a file over the size cap, before it is read.
type TooLargeError struct {
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("file is %d bytes, larger than the %d-byte limit", e.Size, e.Limit)
}

// Root is an open root folder. It is safe for concurrent use.
type Root struct {
	root *os.Root
	fast fastDir
}

// Open opens dir, which must be a folder, as a root.
func Open(dir string) (*Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	root := &Root{root: r, fast: openFast(dir)}
	root.fast.watch(root)
	return root, nil
}

// OS returns the underlying *os.Root for writes, renames and listings.
func (r *Root) OS() *os.Root { return r.root }

// Close releases the root's descriptor.
func (r *Root) Close() error {
	r.fast.close()
	return r.root.Close()
}

// openFlags never block (O_NONBLOCK: a FIFO opens at once, and is then
// refused by its type) and never make a terminal the controlling one.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// OpenRegular opens rel (slash-separated, relative to the root) for
// reading if it is a regular file of at most limit bytes (no limit when
// limit <= 0), and returns it with its information.
func (r *Root) OpenRegular(rel string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := r.root.OpenFile(rel, openFlags, 0)
	if err != nil {
		return nil, nil, r.openError(rel, limit, escapes(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := checkMode(fi.Mode(), fi.Size(), limit); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// openError explains an open that failed because of what the file is: a
// socket, or a device without a driver, cannot be opened at all (ENXIO).
func (r *Root) openError(rel string, limit int64, err error) error {
	if errors.Is(err, syscall.ENXIO) {
		if fi, serr := r.root.Stat(rel); serr == nil {
			if cerr := checkMode(fi.Mode(), fi.Size(), limit); cerr != nil {
				return cerr
			}
		}
	}
	return err
}

// checkMode refuses what is not a regular file of at most limit bytes.
func checkMode(mode fs.FileMode, size, limit int64) error {
	if !mode.IsRegular() {
		return fmt.Errorf("is %s, %w", Describe(mode), ErrNotRegular)
	}
	if limit > 0 && size > limit {
		return &TooLargeError{Size: size, Limit: limit}
	}
	return nil
}

// escapes gives os.Root's refusal of a path leading out of the root, whose
// error is not exported, the package's ErrEscapes.
func escapes(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err.Error() == "path escapes from parent" {
		return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: ErrEscapes}
	}
	return err
}

// Describe names the type of a file mode as an error message would.
func Describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// Special reports whether a directory entry's type is a FIFO, socket,
// device or other irregular file, which walks skip.
func Special(t fs.FileMode) bool {
	return t&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0
}

// ReadFile reads rel if it is a regular file of at most limit bytes.
func (r *Root) ReadFile(rel string, limit int64) ([]byte, error) {
	return r.ReadFileInto(rel, limit, nil)
}

// ReadFileInto is ReadFile reusing buf's storage when it is large enough.
// A file that grows past the cap while it is read is refused too.
func (r *Root) ReadFileInto(rel string, limit int64, buf []byte) ([]byte, error) {
	if b, err, ok := r.fast.readFast(rel, limit, buf); ok {
		if err != nil {
			return nil, r.openError(rel, limit, err)
		}
		return b, nil
	}
	f, fi, err := r.OpenRegular(rel, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readAll(f, fi.Size(), limit, buf)
	return b, readError(rel, err)
}

// readError names the file in a read's I/O error; a refusal for size
// stays as it is.
func readError(rel string, err error) error {
	var big *TooLargeError
	if err == nil || errors.As(err, &big) {
		return err
	}
	return &fs.PathError{Op: "read", Path: rel, Err: err}
}

// readAll reads r to its end into buf's storage (grown when needed): size
// is what fstat said, limit the cap (none when <= 0). A file that grows
// past the cap while it is read is refused too.
func readAll(r io.Reader, size, limit int64, buf []byte) ([]byte, error) {
	want := size + 1 // one more byte tells that the file grew
	if limit > 0 {
		want = min(want, limit+1)
	}
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	b := buf[:0]
	for {
		if len(b) == cap(b) {
			if limit > 0 && int64(len(b)) > limit {
				return nil, &TooLargeError{Size: int64(len(b)), Limit: limit}
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, &TooLargeError{Size: int64(len(b)), Limit: limit}
	}
	return b, nil
}

// ReadHead reads at most n bytes from the start of rel if it is a regular
// file of any size: enough to tell a binary file from text.
func (r *Root) ReadHead(rel string, n int) ([]byte, error) {
	f, _, err := r.OpenRegular(rel, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return b[:m], err
}

// OpenDir opens the folder rel for listing without blocking, whatever has
// been put in its place since it was listed.
func (r *Root) OpenDir(rel string) (*os.File, error) {
	if f, err, ok := r.fast.openDirFast(r.root.Name(), rel); ok {
		return f, err
	}
	f, err := r.root.OpenFile(rel, openFlags|syscall.O_DIRECTORY, 0)
	return f, escapes(err)
}

// Stamp is what a cache compares to tell that a file has not changed.
type Stamp struct {
	Size    int64
	ModTime int64       // Unix nanoseconds
	Mode    fs.FileMode // the type bits only
}

// Stamp stats rel (slash-separated, local to the root), following a final
// symlink as os.Stat does. It reads metadata only; what a caller then
// reads goes through the root's confined opens. On Linux it is one statx
// call relative to the root's descriptor, without os.Stat's path join and
// allocations: a warm start pays it per file (7,700 on Go's tree).
func (r *Root) Stamp(rel string) (Stamp, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return Stamp{}, &fs.PathError{Op: "stat", Path: rel, Err: ErrEscapes}
	}
	if st, err, ok := r.fast.stamp(rel); ok {
		return st, err
	}
	fi, err := os.Stat(filepath.Join(r.root.Name(), filepath.FromSlash(rel)))
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Mode: fi.Mode().Type()}, nil
}
