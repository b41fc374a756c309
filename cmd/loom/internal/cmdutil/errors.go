package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
)

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

// innerPrefixes are the package names Loom's layers put before their
// errors, which say nothing to the person reading them.
var innerPrefixes = []string{"agent: ", "llm: ", "session: ", "tools: ", "workspace: "}

// Message is err's text for a person: one clean message, without the
// "agent: llm: " of the layers it passed through.
func Message(err error) string {
	s := err.Error()
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range innerPrefixes {
			if rest, ok := strings.CutPrefix(s, p); ok {
				s, trimmed = rest, true
			}
		}
	}
	return s
}
