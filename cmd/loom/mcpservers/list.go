package mcpservers

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/mcpclient"
)

// ListOptions are what `loom mcp-servers list` needs.
type ListOptions struct {
	IO         *iostreams.IOStreams
	MCPServers func() (*mcpclient.Pool, error)

	Root string
}

// NewCmdList builds `loom mcp-servers list`; runF, when given, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, MCPServers: f.MCPServers}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Start each configured MCP server and list its tools",
		Long: `List the MCP servers configured for the workspace (yours, then the
repository's), start each that may run, and show whether it started and the
tools the model would see, with their effects: "read" runs without asking,
"execute" asks first. A repository's servers are listed but not started
until you trust its list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root")
	return cmd
}

func listRun(ctx context.Context, o *ListOptions) error {
	pool, err := o.MCPServers()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	out := o.IO.Out
	set := pool.Set(root)
	running := map[string]bool{}
	for _, srv := range set.Servers() {
		running[string(srv.Scope)+"/"+srv.Name] = true
		status := "started"
		if err := srv.Start(ctx); err != nil {
			status = "did not start: " + err.Error()
		}
		if srv.SignedIn() {
			status += " (signed in)"
		}
		fmt.Fprintf(out, "%s (%s; %s)\n  %s\n", srv.Name, srv.Scope, describe(srv.Config()), status)
		printTools(out, set.ToolsOf(srv))
	}
	repo, err := mcpclient.ReadRepo(root)
	if err != nil {
		return err
	}
	if repo.Err != nil {
		fmt.Fprintf(out, "%s: %v\n", filepath.Join(repo.Root, mcpclient.RepoFile), repo.Err)
	}
	for _, name := range repo.File.Names() {
		if running[string(mcpclient.ScopeRepo)+"/"+name] {
			continue
		}
		why := "not started: the repository's list is not trusted (loom mcp-servers trust)"
		if mcpclient.Trusted(pool.TrustPath(), repo) {
			why = "not started: disabled, or named like one of yours"
		}
		fmt.Fprintf(out, "%s (%s; %s)\n  %s\n", name, mcpclient.ScopeRepo, describe(repo.File.Servers[name]), why)
	}
	if len(set.Servers()) == 0 && len(repo.File.Servers) == 0 {
		fmt.Fprintln(o.IO.ErrOut, `No MCP servers configured: add "mcpServers" to Loom's config file or .loom/mcp.json (loom mcp-servers --help).`)
	}
	return nil
}
