// Package mcpservers is `loom mcp-servers`: the MCP servers whose tools the
// agent uses (list, test), consent to a repository's list (trust), other
// assistants' lists copied in (import), and OAuth sign-ins (login, logout).
package mcpservers

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/mcpclient"
	"github.com/loom-agent/loom/tools"
)

// NewCmdMCPServers builds the `loom mcp-servers` group.
func NewCmdMCPServers(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp-servers",
		Short: "The MCP servers whose tools the agent uses",
		Long: `Loom's agent uses the tools of the MCP servers listed under "mcpServers" in
Loom's config file ($XDG_CONFIG_HOME/loom/config.json) and in a repository's
.loom/mcp.json, in the format desktop assistants use:

  {"mcpServers": {
    "files": {"command": "npx", "args": ["@modelcontextprotocol/server-filesystem", "."],
              "env": {"KEY": "value"}, "cwd": "sub", "timeout": "10m",
              "disabledTools": ["write_file"]},
    "tracker": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer …"}}
  }}

A server starts at the first run that offers its tools; the model sees them
as SERVER__TOOL. A call ends when its server sends nothing for "timeout"
(default 10m; progress keeps it going). A repository's servers run only
after you trust its list (loom mcp-servers trust), and again after each change
to it. "loom mcp-servers import" copies the lists of Claude Desktop, Claude Code
and Codex; "loom mcp-servers login NAME" signs in to an HTTP server that asks
for OAuth.`,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdTest(f, nil), NewCmdTrust(f, nil), NewCmdImport(f, nil),
		NewCmdLogin(f, nil), NewCmdLogout(f, nil))
	return cmd
}

// describe says how a server is reached, in full: what consent is given to.
func describe(cfg mcpclient.ServerConfig) string {
	if cfg.URL != "" {
		return "http " + cfg.URL
	}
	var b strings.Builder
	b.WriteString("stdio " + fmt.Sprintf("%q", cfg.Command))
	for _, a := range cfg.Args {
		fmt.Fprintf(&b, " %q", a)
	}
	for k, v := range cfg.Env {
		fmt.Fprintf(&b, " env %s=%q", k, v)
	}
	if cfg.Cwd != "" {
		fmt.Fprintf(&b, " in %q", cfg.Cwd)
	}
	return b.String()
}

// printTools lists tools as the model sees them, with their effects.
func printTools(w io.Writer, ts []tools.Tool) {
	for _, t := range ts {
		sp := t.Spec()
		fmt.Fprintf(w, "    %-40s %s\n", sp.Name, sp.Effect)
	}
}
