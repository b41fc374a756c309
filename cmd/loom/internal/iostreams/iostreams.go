// Package iostreams holds a loom command's standard streams and whether
// each is a terminal: colour, live progress and questions belong where a
// person is watching; elsewhere the output is plain, parseable text.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are a command's stdin, stdout and stderr.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY bool
}

// System returns the process's own streams.
func System() *IOStreams { return New(os.Stdin, os.Stdout, os.Stderr) }

// New wraps the given streams. Each is a terminal when it is an *os.File
// open on one; a character device such as /dev/null is not.
func New(in io.Reader, out, errOut io.Writer) *IOStreams {
	return &IOStreams{In: in, Out: out, ErrOut: errOut,
		inTTY: isTerminal(in), outTTY: isTerminal(out), errTTY: isTerminal(errOut)}
}

// Test returns streams over buffers, none of them a terminal, and the
// buffers: what the command reads, and what it writes to stdout and stderr.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// IsStdinTTY reports whether stdin is a terminal a person types into.
func (s *IOStreams) IsStdinTTY() bool { return s.inTTY }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// SetStdinTTY, SetStdoutTTY and SetStderrTTY let a test play a terminal.
func (s *IOStreams) SetStdinTTY(tty bool)  { s.inTTY = tty }
func (s *IOStreams) SetStdoutTTY(tty bool) { s.outTTY = tty }
func (s *IOStreams) SetStderrTTY(tty bool) { s.errTTY = tty }

// TerminalFiles returns stdin and stderr as the files of a terminal a
// question can be asked on and answered, or ok false when either is not
// one (a pipe, a file, /dev/null, a test's buffer).
func (s *IOStreams) TerminalFiles() (in, errOut *os.File, ok bool) {
	in, ok1 := s.In.(*os.File)
	errOut, ok2 := s.ErrOut.(*os.File)
	if !ok1 || !ok2 || !s.inTTY || !s.errTTY {
		return nil, nil, false
	}
	return in, errOut, true
}
