// Command loom is an AI coding agent served over LSP and MCP, and run from
// a terminal. This package only wires the other packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes a script can tell apart.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitCancelled = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(&streams{In: stdin, Out: stdout, Err: stderr})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "loom: cancelled")
		return exitCancelled
	case errors.As(err, new(*exitError)):
		var ee *exitError
		errors.As(err, &ee)
		fmt.Fprintf(stderr, "loom: %v\n", err)
		return ee.code
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(stderr, "loom: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "loom: %v\n", err)
		return exitFailure
	}
}

// streams are the command's standard streams, replaced in tests.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }
