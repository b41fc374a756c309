// Package usage is `loom usage`: what the team server's LLM proxy served,
// summed by model, user, team or API key (package client does the
// talking).
package usage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
)

// Options are what `loom usage` needs.
type Options struct {
	IO *iostreams.IOStreams
	// Server is the server's URL; "" is the one signed in to last.
	Server string
	// ConfigDir holds the credentials; "" is the user's config folder.
	ConfigDir string

	By    string
	Since string
	Org   string
	JSON  bool
}

// NewCmdUsage builds `loom usage [--by user|model|team|key] [--since 7d] [--org ORG] [SERVER]`.
func NewCmdUsage(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "usage [SERVER]",
		Short: "Show what the team server's model proxy served, and what it cost",
		Long: `Show the calls the team server's model proxy served, summed by model, user,
team or API key: requests, errors, tokens and cost. Without --org, your own
calls; with --org, the organisation's (its admins only). Uses the token
loom login stored; without SERVER, the server signed in to last.`,
		Example: `  loom usage
  loom usage --by model --since 24h
  loom usage --org acme --by user --since 30d https://loom.example.com`,
		Args: cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			switch opts.By {
			case "model", "user", "team", "key":
			default:
				return &cmdutil.UsageError{Err: fmt.Errorf("--by %q: want user, model, team or key", opts.By)}
			}
			if runF != nil {
				return runF(opts)
			}
			return usageRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.By, "by", "model", "group by user, model, team or key")
	cmd.Flags().StringVar(&opts.Since, "since", "7d", "how far back: 7d, 24h, a date (2026-01-31) or an RFC 3339 time")
	cmd.Flags().StringVar(&opts.Org, "org", "", "an organisation's slug: its usage (admins); default: your own")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the server's JSON")
	return cmd
}

func usageRun(ctx context.Context, o *Options) error {
	rep, err := client.Usage(ctx, client.Options{Server: o.Server, ConfigDir: o.ConfigDir, Out: o.IO.ErrOut},
		client.UsageQuery{By: o.By, Since: o.Since, Org: o.Org})
	if err != nil {
		return err
	}
	if o.JSON {
		rep.Rows = cmdutil.NonNil(rep.Rows)
		return cmdutil.WriteJSON(o.IO.Out, rep)
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tREQUESTS\tERRORS\tINPUT\tOUTPUT\tCACHED\tCOST ($)\n", strings.ToUpper(o.By))
	line := func(r client.UsageRow) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Name, r.Requests, r.Errors, r.InputTokens, r.OutputTokens, r.CachedTokens, dollars(r.CostMicros))
	}
	for _, r := range rep.Rows {
		line(r)
	}
	rep.Total.Name = "total"
	line(rep.Total)
	return tw.Flush()
}

// dollars writes micro-dollars as dollars with cents, and the micro-dollars
// below them when there are any: 4.50, 0.000150.
func dollars(micros int64) string {
	s := strconv.FormatInt(micros/1e6, 10) + "."
	frac := fmt.Sprintf("%06d", micros%1e6)
	if frac[2:] == "0000" {
		return s + frac[:2]
	}
	return s + frac
}
