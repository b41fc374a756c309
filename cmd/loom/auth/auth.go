// Package auth is `loom login`, `loom logout` and `loom whoami`: signing
// this machine in to a team server (package client does the talking).
package auth

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
)

// Options are what the three commands need.
type Options struct {
	IO *iostreams.IOStreams
	// Server is the server's URL; "" is the one signed in to last.
	Server string
	// ConfigDir holds the credentials; "" is the user's config folder.
	ConfigDir string
}

func (o *Options) client() client.Options {
	return client.Options{Server: o.Server, ConfigDir: o.ConfigDir, Out: o.IO.ErrOut}
}

// NewCmdLogin builds `loom login [SERVER]`.
func NewCmdLogin(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "login [SERVER]",
		Short: "Sign in to a team server from this machine",
		Long: `Sign in to a team server (loom server) with the device flow: loom prints a
code and a page; approve the code there in your browser. The token is kept
in $XDG_CONFIG_HOME/loom/credentials.json (0600). Without SERVER, the
server signed in to last.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
}

func loginRun(ctx context.Context, o *Options) error {
	id, err := client.Login(ctx, o.client())
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "Signed in to %s as %s\n", id.Server, id.Email)
	return nil
}

// NewCmdLogout builds `loom logout [SERVER]`.
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Sign this machine out of a team server",
		Long:  "Sign out: the server ends the session and the stored token is deleted.",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			if err := client.Logout(cmd.Context(), opts.client()); err != nil {
				return err
			}
			fmt.Fprintln(opts.IO.Out, "Signed out")
			return nil
		},
	}
}

// NewCmdWhoAmI builds `loom whoami [SERVER]`.
func NewCmdWhoAmI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "whoami [SERVER]",
		Short: "Say who this machine is signed in to a team server as",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			id, err := client.WhoAmI(cmd.Context(), opts.client())
			if err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.Out, "%s on %s\n", id.Email, id.Server)
			return nil
		},
	}
}
