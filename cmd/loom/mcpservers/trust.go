package mcpservers

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/mcpclient"
)

// TrustOptions are what `loom mcp-servers trust` needs.
type TrustOptions struct {
	IO         *iostreams.IOStreams
	MCPServers func() (*mcpclient.Pool, error)

	Root string
}

// NewCmdTrust builds `loom mcp-servers trust`; runF, when given, replaces the run.
func NewCmdTrust(f *cmdutil.Factory, runF func(*TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{IO: f.IOStreams, MCPServers: f.MCPServers}
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Let the repository's MCP servers (.loom/mcp.json) run, as the list is now",
		Long: `A repository's .loom/mcp.json names commands that would run as you: Loom
starts none of them until you trust the list. This prints every server in
full and records your consent for this repository and these exact bytes
(their SHA-256, in mcp-trust.json beside Loom's config file); any later
change to the list needs your consent again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return trustRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the repository root")
	return cmd
}

func trustRun(o *TrustOptions) error {
	pool, err := o.MCPServers()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	repo, err := mcpclient.ReadRepo(root)
	if err != nil {
		return err
	}
	if pool.TrustPath() == "" {
		return fmt.Errorf("no place to record consent: set HOME or XDG_CONFIG_HOME")
	}
	if err := mcpclient.Trust(pool.TrustPath(), repo); err != nil {
		return err
	}
	for _, name := range repo.File.Names() {
		fmt.Fprintf(o.IO.Out, "%s: %s\n", name, describe(repo.File.Servers[name]))
	}
	fmt.Fprintf(o.IO.ErrOut, "Trusted %s (sha256 %s); recorded in %s.\n", filepath.Join(repo.Root, mcpclient.RepoFile), repo.Hash[:12], pool.TrustPath())
	return nil
}
