// Package teamserver is `loom server`: the team's server (package server)
// started from a configuration file and flags.
package teamserver

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/server"
)

// ServerOptions are what `loom server` needs.
type ServerOptions struct {
	IO *iostreams.IOStreams
	// ConfigFile is the JSON configuration; flags given override it.
	ConfigFile string
	Listen     string
	Database   string
	PublicURL  string
	TLSCert    string
	TLSKey     string
	Proxies    []string
}

// NewCmdServer builds `loom server`; runF, when given, replaces the run.
func NewCmdServer(f *cmdutil.Factory, runF func(*ServerOptions) error) *cobra.Command {
	opts := &ServerOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the team server: accounts, sign-in and access rules",
		Long: `Run Loom's team server. With no flags it listens on ` + server.DefaultListen + ` (loopback only)
and keeps its data in SQLite under $XDG_DATA_HOME/loom. Give --database postgres://…
to share one PostgreSQL database between several replicas. Serve HTTPS with
--tls-cert and --tls-key, or run behind a reverse proxy named with
--trusted-proxy (only its X-Forwarded-For and X-Forwarded-Proto are believed).
The server stops on SIGINT or SIGTERM, letting requests in flight finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serverRun(ctx, opts)
		},
	}
	cmd.AddCommand(NewCmdAdmin(f, opts, nil))
	fl := cmd.PersistentFlags()
	fl.StringVar(&opts.ConfigFile, "config", "", "the server's JSON configuration file")
	fl.StringVar(&opts.Listen, "listen", "", "address to listen on (default "+server.DefaultListen+")")
	fl.StringVar(&opts.Database, "database", "", "postgres://… or a SQLite file (default $XDG_DATA_HOME/loom/server.db)")
	fl.StringVar(&opts.PublicURL, "public-url", "", "the URL people reach the server at, for links it sends (default from --listen)")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "the certificate's private key (PEM)")
	fl.StringSliceVar(&opts.Proxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy whose forwarded headers are trusted (repeatable)")
	return cmd
}

// Config reads the configuration file and lays the flags over it.
func (o *ServerOptions) Config() (server.Config, error) {
	cfg, err := server.LoadConfig(o.ConfigFile)
	if err != nil {
		return cfg, err
	}
	for _, f := range []struct {
		flag  string
		field *string
	}{
		{o.Listen, &cfg.Listen}, {o.Database, &cfg.Database}, {o.PublicURL, &cfg.PublicURL},
		{o.TLSCert, &cfg.TLSCert}, {o.TLSKey, &cfg.TLSKey},
	} {
		if f.flag != "" {
			*f.field = f.flag
		}
	}
	if len(o.Proxies) > 0 {
		cfg.TrustedProxies = o.Proxies
	}
	return cfg, nil
}

func serverRun(ctx context.Context, o *ServerOptions) error {
	cfg, err := o.Config()
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if pct, ok := gcPercent(os.Getenv); ok {
		debug.SetGCPercent(pct)
	}
	srv, err := server.Open(ctx, cfg, slog.Default())
	if err != nil {
		return err
	}
	defer srv.Close()
	go func() {
		select {
		case <-srv.Listening():
			// Said whatever the log level, for the person who started it.
			fmt.Fprintf(o.IO.ErrOut, "loom server listening on %s (database: %s)\n", srv.URL(), srv.DB.Engine)
		case <-ctx.Done():
		}
	}()
	return srv.Run(ctx)
}

// serverGCPercent is the server's garbage collection target. Its live heap
// is small (8 MB while proxying 200 streams), so Go's default of 100
// collects about every second under that load, each time taking part of
// a core for some 10 ms, which the streams then wait on: it showed in the
// proxy's p99 (bench/proxy.sh). At 400 it collects a quarter as often, for
// a peak heap of about 45 MB instead of 20.
const serverGCPercent = 400

// gcPercent is the target to set, unless the environment's GOGC chose
// one. (GOMEMLIMIT still bounds the heap either way.)
func gcPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return serverGCPercent, true
}
