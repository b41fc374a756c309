package tool

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
)

// ListOptions are what `loom tools` needs.
type ListOptions struct {
	IO    *iostreams.IOStreams
	Tools func() (*tools.Registry, error)

	JSON bool
}

// NewCmdList builds `loom tools`; runF, when given, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Tools: f.Tools}
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List every tool with its description",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print names, descriptions, effects, path arguments and argument schemas as JSON")
	return cmd
}

func listRun(opts *ListOptions) error {
	reg, err := opts.Tools()
	if err != nil {
		return err
	}
	if opts.JSON {
		type entry struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			ReadOnly    bool            `json:"read_only"`
			Effect      tools.Effect    `json:"effect"`
			PathArgs    []string        `json:"path_args,omitempty"`
			Schema      json.RawMessage `json:"input_schema"`
		}
		var out []entry
		for _, t := range reg.List() {
			sp := t.Spec()
			out = append(out, entry{sp.Name, sp.Description, sp.Effect.ReadOnly(), sp.Effect, sp.PathArgs, sp.Schema})
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	for _, t := range reg.List() {
		sp := t.Spec()
		// The whole description, on one line: the first sentence alone
		// often leaves out what the tool needs.
		fmt.Fprintf(tw, "%s\t%s\n", sp.Name, strings.Join(strings.Fields(sp.Description), " "))
	}
	return tw.Flush()
}
