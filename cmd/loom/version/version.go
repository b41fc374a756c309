// Package version is `loom version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
)

// VersionOptions are what `loom version` needs.
type VersionOptions struct {
	IO      *iostreams.IOStreams
	Version func() string
}

// NewCmdVersion builds `loom version`; runF, when given, replaces the run.
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IOStreams, Version: f.Version}
	return &cobra.Command{
		Use:   "version",
		Short: "Print Loom's version",
		Args:  cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	fmt.Fprintln(opts.IO.Out, Line(opts.Version()))
	return nil
}

// Line is what `loom version` and `loom --version` print.
func Line(v string) string {
	return fmt.Sprintf("loom %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
