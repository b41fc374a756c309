package cmdutil

import "github.com/spf13/cobra"

// Exit codes a script can tell apart.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	// ExitLimit ends a run that stopped at --max-turns or --max-tokens
	// before the model finished.
	ExitLimit = 3
	// ExitTimedOut is timeout(1)'s status for a command it had to stop.
	ExitTimedOut  = 124
	ExitCancelled = 130
)

// UsageError is a mistake on the command line (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitError carries an exit code chosen by a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageArgs makes a wrong number of arguments a usage error (exit 2).
func UsageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{err}
		}
		return nil
	}
}
