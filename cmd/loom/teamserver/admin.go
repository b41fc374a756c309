package teamserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/auth/bootstrap"
)

// AdminOptions are what `loom server admin` needs.
type AdminOptions struct {
	IO     *iostreams.IOStreams
	Server *ServerOptions
	Org    string
	Name   string
	Email  string
}

// NewCmdAdmin builds `loom server admin`: the first organisation and its
// owner on a fresh server, without email.
func NewCmdAdmin(f *cmdutil.Factory, srv *ServerOptions, runF func(*AdminOptions) error) *cobra.Command {
	opts := &AdminOptions{IO: f.IOStreams, Server: srv}
	cmd := &cobra.Command{
		Use:   "admin --org SLUG --email EMAIL",
		Short: "Create the first organisation and its owner, and print a one-time sign-in link",
		Long: `Create the first organisation and its owner on a fresh server, and print a
link that signs the owner in once, within an hour. It works on the server's
database directly (the same --database or --config as loom server), and
refuses once any organisation exists: others join by invitation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return adminRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Org, "org", "", "the organisation's slug (lower-case letters, digits and dashes)")
	cmd.Flags().StringVar(&opts.Name, "name", "", "the organisation's name (default: the slug)")
	cmd.Flags().StringVar(&opts.Email, "email", "", "the owner's email address")
	return cmd
}

func adminRun(ctx context.Context, o *AdminOptions) error {
	if o.Org == "" || o.Email == "" {
		return &cmdutil.UsageError{Err: errors.New("loom server admin needs --org and --email")}
	}
	cfg, err := o.Server.Config()
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	res, err := server.Bootstrap(ctx, cfg, slog.Default(), o.Org, o.Name, o.Email)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Created organisation %s with owner %s. Sign in once, within %s, at:\n", o.Org, o.Email, bootstrap.LinkTTL)
	fmt.Fprintln(o.IO.Out, res.Link)
	return nil
}
