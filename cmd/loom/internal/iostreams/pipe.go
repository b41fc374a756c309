package iostreams

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// CancelOnClosedPipe makes a closed pipe on stdout or stderr (`loom run …
// | head -1`) end the command as Ctrl+C would: cancel is called on the
// first write that fails with EPIPE, so a run is recorded as cancelled
// rather than left running by a process killed mid-write. Streams on a
// terminal are left as they are (a terminal is no pipe, and commands look
// at its *os.File for its size).
func (s *IOStreams) CancelOnClosedPipe(cancel func()) {
	// Without a handler, Go ends the process on such a write to fd 1 or 2
	// (SIGPIPE); with one, the write returns EPIPE. The signal itself
	// carries nothing more, and a child's own pipes are its business.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if !s.outTTY {
		s.Out = &pipeWriter{w: s.Out, cancel: cancel}
	}
	if !s.errTTY {
		s.ErrOut = &pipeWriter{w: s.ErrOut, cancel: cancel}
	}
}

type pipeWriter struct {
	w      io.Writer
	cancel func()
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.cancel()
	}
	return n, err
}

// ReadFrom lets io.Copy reach the stream's own ReadFrom (an *os.File's
// copies file to file, or file to pipe, in the kernel: `loom analyze
// symbols` prints a kept listing of megabytes so).
func (p *pipeWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := p.w.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{p}, r)
	}
	n, err := rf.ReadFrom(r)
	if errors.Is(err, syscall.EPIPE) {
		p.cancel()
	}
	return n, err
}
