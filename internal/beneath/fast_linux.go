package beneath

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// On Linux, whole-file reads (the hot path of a search over a large tree)
// resolve the path in one openat2 call with RESOLVE_BENEATH instead of
// os.Root's walk of one openat per path element, and read with bare
// system calls: os.File registers every file with the network poller and
// sets a cleanup, a cost paid per file. The guarantees are the same: the
// kernel refuses any resolution that leaves the root (EXDEV), and the
// descriptor is checked with fstat before a byte is read.

// fastDir is an O_PATH descriptor of the root for openat2, or -1; it is
// disabled where openat2 is unavailable (ENOSYS: kernels before 5.6, or a
// seccomp filter that does not know it).
type fastDir struct {
	fd       int
	disabled atomic.Bool
	noStatx  atomic.Bool
	cleanup  runtime.Cleanup
}

func openFast(dir string) fastDir {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fastDir{fd: -1}
	}
	return fastDir{fd: fd}
}

// watch closes the descriptor when owner is collected without Close, as
// os.Root does for its own.
func (d *fastDir) watch(owner *Root) {
	if d.fd >= 0 {
		d.cleanup = runtime.AddCleanup(owner, func(fd int) { unix.Close(fd) }, d.fd)
	}
}

func (d *fastDir) close() {
	if d.fd >= 0 {
		d.cleanup.Stop()
		unix.Close(d.fd)
		d.fd = -1
	}
}

// readFast reads rel as ReadFileInto does; ok is false when openat2 cannot
// be used and the caller must take the portable path.
func (d *fastDir) readFast(rel string, limit int64, buf []byte) (b []byte, err error, ok bool) {
	fd, err, ok := d.open(rel, 0)
	if !ok || err != nil {
		return nil, err, ok
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: rel, Err: err}, true
	}
	if err := checkMode(modeOf(st.Mode), st.Size, limit); err != nil {
		return nil, err, true
	}
	b, err = readAll(fdReader(fd), st.Size, limit, buf)
	return b, readError(rel, err), true
}

// fdReader reads a descriptor with bare system calls.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// openDirFast opens the folder rel for listing; ok is false when openat2
// cannot be used. A folder opened through os.Root stats every entry as it
// is listed, which a walk of a large tree cannot afford; this one leaves
// entries' types as the kernel reports them.
func (d *fastDir) openDirFast(root, rel string) (f *os.File, err error, ok bool) {
	fd, err, ok := d.open(rel, unix.O_DIRECTORY)
	if !ok || err != nil {
		return nil, err, ok
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, rel)), nil, true
}

// open opens rel read-only and non-blocking with openat2, resolved beneath
// the root; ok is false when openat2 cannot be used.
func (d *fastDir) open(rel string, flags uint64) (fd int, err error, ok bool) {
	if d.fd < 0 || d.disabled.Load() {
		return -1, nil, false
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC | flags,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for try := 0; ; try++ {
		fd, err = unix.Openat2(d.fd, rel, &how)
		// EAGAIN: a rename raced the lookup; EINTR: a signal did.
		if (err == unix.EAGAIN || err == unix.EINTR) && try < 8 {
			continue
		}
		break
	}
	switch {
	case err == unix.ENOSYS:
		d.disabled.Store(true)
		return -1, nil, false
	case err == unix.EXDEV:
		return -1, &fs.PathError{Op: "open", Path: rel, Err: ErrEscapes}, true
	case err != nil:
		return -1, &fs.PathError{Op: "open", Path: rel, Err: err}, true
	}
	return fd, nil, true
}

// stamp stats rel as Root.Stamp does; ok is false when statx cannot be
// used (ENOSYS: kernels before 4.11, or a seccomp filter).
func (d *fastDir) stamp(rel string) (st Stamp, err error, ok bool) {
	if d.fd < 0 || d.noStatx.Load() {
		return Stamp{}, nil, false
	}
	var x unix.Statx_t
	for try := 0; ; try++ {
		// AT_NO_AUTOMOUNT: a repository's symlink must not make a stat
		// mount a network share.
		err = unix.Statx(d.fd, rel, unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE|unix.STATX_SIZE|unix.STATX_MTIME, &x)
		if err != unix.EINTR || try >= 8 {
			break
		}
	}
	switch {
	case err == unix.ENOSYS:
		d.noStatx.Store(true)
		return Stamp{}, nil, false
	case err != nil:
		return Stamp{}, &fs.PathError{Op: "stat", Path: rel, Err: err}, true
	}
	return Stamp{Size: int64(x.Size), ModTime: x.Mtime.Sec*1e9 + int64(x.Mtime.Nsec), Mode: modeOf(uint32(x.Mode))}, nil, true
}

// modeOf converts a stat mode's type bits to an fs.FileMode.
func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}
