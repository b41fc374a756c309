package mcpservers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/mcpclient"
)

// LoginOptions are what `loom mcp-servers login` and `logout` need.
type LoginOptions struct {
	IO         *iostreams.IOStreams
	MCPServers func() (*mcpclient.Pool, error)
	// OpenBrowser shows the authorization page; nil when there is no
	// browser to open (the address is printed either way).
	OpenBrowser func(url string) error

	Root   string
	Name   string
	Logout bool
}

// NewCmdLogin builds `loom mcp-servers login`; runF, when given, replaces the run.
func NewCmdLogin(f *cmdutil.Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IOStreams, MCPServers: f.MCPServers, OpenBrowser: openBrowser()}
	noBrowser := false
	cmd := &cobra.Command{
		Use:   "login NAME",
		Short: "Sign in to an HTTP MCP server that asks for it (OAuth, in your browser)",
		Long: `Sign in to the HTTP MCP server NAME when it asks for OAuth: Loom finds the
server's authorization server, registers itself there, and sends you to its
page (the address is printed, and opened in your browser when there is one).
After you approve, the page comes back to Loom on a loopback port; the tokens
are kept in a file only you can read under Loom's config folder (mcp-oauth/),
for that server's URL only, and refreshed when they expire.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if noBrowser {
				opts.OpenBrowser = nil
			}
			if runF != nil {
				return runF(opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root (for a repository's servers)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the address to open")
	return cmd
}

// NewCmdLogout builds `loom mcp-servers logout`; runF, when given, replaces the run.
func NewCmdLogout(f *cmdutil.Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IOStreams, MCPServers: f.MCPServers, Logout: true}
	cmd := &cobra.Command{
		Use:   "logout NAME",
		Short: "Forget the sign-in to an HTTP MCP server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root (for a repository's servers)")
	return cmd
}

func loginRun(ctx context.Context, o *LoginOptions) error {
	pool, err := o.MCPServers()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	for _, srv := range pool.Set(root).Servers() {
		if srv.Name != o.Name {
			continue
		}
		if o.Logout {
			ok, err := srv.Logout()
			switch {
			case err != nil:
				return err
			case ok:
				fmt.Fprintf(o.IO.ErrOut, "Signed out of %s.\n", srv.Name)
			default:
				fmt.Fprintf(o.IO.ErrOut, "Not signed in to %s.\n", srv.Name)
			}
			return nil
		}
		say := func(url string) {
			fmt.Fprintf(o.IO.ErrOut, "Open this address to sign in to %s:\n\n  %s\n\nWaiting for the browser to come back…\n", srv.Name, url)
		}
		if err := srv.Login(ctx, say, o.OpenBrowser); err != nil {
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "Signed in to %s.\n", srv.Name)
		return nil
	}
	return fmt.Errorf("no MCP server %q may run here (loom mcp-servers list shows what is configured)", o.Name)
}

// openBrowser is the way to open a page on this machine, nil when there is
// none (no desktop session to show it in).
func openBrowser() func(string) error {
	var name string
	switch {
	case runtime.GOOS == "darwin":
		name = "open"
	case os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "":
		name = "xdg-open"
	default:
		return nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil
	}
	return func(url string) error {
		cmd := exec.Command(path, url)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait()
		return nil
	}
}
