package mcpservers

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/mcpclient"
)

// ImportOptions are what `loom mcp-servers import` needs.
type ImportOptions struct {
	IO *iostreams.IOStreams
	// ConfigPath is Loom's config file, which the servers go into.
	ConfigPath func() string

	From   []string
	Root   string
	Force  bool
	DryRun bool
}

// NewCmdImport builds `loom mcp-servers import`; runF, when given, replaces the run.
func NewCmdImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IOStreams, ConfigPath: llm.ConfigPath}
	cmd := &cobra.Command{
		Use:   "import [--from claude-desktop|claude-code|codex] [--dry-run] [--force]",
		Short: "Copy the MCP servers other assistants use into Loom's config file",
		Long: `Read the MCP servers of Claude Desktop (claude_desktop_config.json), Claude
Code (~/.claude.json, its list for the project at --root, and the project's
.mcp.json) and Codex ($CODEX_HOME/config.toml, [mcp_servers.NAME]) and add
them to "mcpServers" in Loom's config file, leaving the rest of the file as
it is. A name already configured is skipped unless --force; what Loom cannot
carry over is named. Each server is printed in full: they are commands that
will run as you.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return importRun(opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.From, "from", nil, "read only these assistants' lists: claude-desktop, claude-code, codex (default all)")
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the project whose Claude Code servers are read too")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace servers of the same name already configured")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "say what would be added, and write nothing")
	return cmd
}

func importRun(o *ImportOptions) error {
	from := mcpclient.Assistants
	if len(o.From) > 0 {
		from = nil
		for _, a := range o.From {
			if !slices.Contains(mcpclient.Assistants, mcpclient.Assistant(a)) {
				return &cmdutil.UsageError{Err: fmt.Errorf("--from %q: want claude-desktop, claude-code or codex", a)}
			}
			from = append(from, mcpclient.Assistant(a))
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return err
	}
	// Read every list before writing anything: one bad file changes nothing.
	var found []mcpclient.Found
	for _, a := range from {
		fs, err := mcpclient.ReadAssistant(a, home, root)
		if err != nil {
			return fmt.Errorf("reading %s's MCP servers: %w", a, err)
		}
		found = append(found, fs...)
	}
	if len(found) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No MCP servers found to import.")
		return nil
	}
	path := o.ConfigPath()
	res, err := mcpclient.Import(path, found, o.Force, o.DryRun)
	if err != nil {
		return err
	}
	verb, replaced := "added", "replaced"
	if o.DryRun {
		verb, replaced = "would add", "would replace"
	}
	out := o.IO.Out
	for _, f := range res.Added {
		printFound(o, verb, f)
	}
	for _, f := range res.Replaced {
		printFound(o, replaced, f)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(out, "skipped %s (from %s): %s\n", s.Name, s.From, s.Why)
	}
	n := len(res.Added) + len(res.Replaced)
	switch {
	case o.DryRun:
		fmt.Fprintf(o.IO.ErrOut, "Dry run: %s left as it is.\n", path)
	case n > 0:
		fmt.Fprintf(o.IO.ErrOut, "Imported %d MCP server(s) into %s.\n", n, path)
	default:
		fmt.Fprintf(o.IO.ErrOut, "Nothing imported; %s left as it is.\n", path)
	}
	return nil
}

func printFound(o *ImportOptions, verb string, f mcpclient.Found) {
	fmt.Fprintf(o.IO.Out, "%s %s (from %s): %s\n", verb, f.Name, f.From, describe(f.Config))
	for _, n := range f.Notes {
		fmt.Fprintf(o.IO.Out, "  note: %s\n", n)
	}
}
