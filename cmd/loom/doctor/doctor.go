// Package doctor is `loom doctor`: which model a run would use and where it
// comes from (this machine's configuration, or the team server signed in
// to), whether that server knows this machine, and where threads are kept.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// DoctorOptions are what `loom doctor` needs.
type DoctorOptions struct {
	IO         *iostreams.IOStreams
	AgentFlags cmdutil.AgentFlags
	// Resolve finds the model configuration and its source.
	Resolve func(llm.Config) (llm.Config, cmdutil.ModelSource, error)
	// Client reaches the team server.
	Client client.Options
	// ThreadsPath is where threads are kept.
	ThreadsPath func() (string, error)
}

// NewCmdDoctor builds `loom doctor`; runF, when given, replaces the run.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IOStreams, Resolve: cmdutil.ResolveModel, ThreadsPath: thread.DefaultPath}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say which model runs would use, from where, and what else Loom finds",
		Long: `Say which model a run would use and where it comes from: this machine's
configuration (flags, LOOM_* and provider variables, config.json) or, when
none is set and you have run loom login, the team server's proxy. It also
checks that the server still knows this machine's sign-in, and says where
threads are kept. It exits non-zero when no model can be used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.RegisterModel(cmd)
	return cmd
}

func doctorRun(ctx context.Context, o *DoctorOptions) error {
	out := o.IO.Out
	cfg, source, modelErr := o.Resolve(o.AgentFlags.LLMConfig(o.AgentFlags.Model))
	if modelErr == nil {
		fmt.Fprintf(out, "model:    %s (%s API at %s)\n", cfg.Model, cfg.Provider, cfg.BaseURL)
		fmt.Fprintf(out, "from:     %s\n", source)
	} else {
		fmt.Fprintln(out, "model:    none")
	}
	who, err := client.WhoAmI(ctx, o.Client)
	switch {
	case err == nil:
		fmt.Fprintf(out, "server:   %s, signed in as %s\n", who.Server, who.Email)
	case errors.Is(err, client.ErrNotSignedIn):
		fmt.Fprintln(out, "server:   not signed in (loom login SERVER)")
	default:
		fmt.Fprintf(out, "server:   %v\n", err)
	}
	if p, err := o.ThreadsPath(); err == nil {
		fmt.Fprintf(out, "threads:  %s\n", p)
	} else {
		fmt.Fprintf(out, "threads:  not kept: %v\n", err)
	}
	if modelErr != nil {
		fmt.Fprintln(o.IO.ErrOut)
		io.WriteString(o.IO.ErrOut, modelErr.Error()+"\n")
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: errors.New("no model can be used")}
	}
	return nil
}
