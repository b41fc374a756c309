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

// TestOptions are what `loom mcp-servers test` needs.
type TestOptions struct {
	IO         *iostreams.IOStreams
	MCPServers func() (*mcpclient.Pool, error)

	Root string
	Name string
}

// NewCmdTest builds `loom mcp-servers test`; runF, when given, replaces the run.
func NewCmdTest(f *cmdutil.Factory, runF func(*TestOptions) error) *cobra.Command {
	opts := &TestOptions{IO: f.IOStreams, MCPServers: f.MCPServers}
	cmd := &cobra.Command{
		Use:   "test NAME",
		Short: "Start one MCP server and list its tools; exit non-zero if it does not start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return testRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root")
	return cmd
}

func testRun(ctx context.Context, o *TestOptions) error {
	pool, err := o.MCPServers()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	set := pool.Set(root)
	for _, srv := range set.Servers() {
		if srv.Name != o.Name {
			continue
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		ts := set.ToolsOf(srv)
		fmt.Fprintf(o.IO.Out, "%s (%s; %s)\n  started, %d tools\n", srv.Name, srv.Scope, describe(srv.Config()), len(ts))
		printTools(o.IO.Out, ts)
		return nil
	}
	return fmt.Errorf("no MCP server %q may run here (loom mcp-servers list shows what is configured)", o.Name)
}
