// Package doctor is `loom doctor`: the configuration a run would use, each
// value with where it came from, the config file and the keys of it Loom
// does not read, whether the endpoint answers and lists the model, the
// team server signed in to, and the health of the thread database and the
// index cache. It exits non-zero when something is broken.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// DoctorOptions are what `loom doctor` needs.
type DoctorOptions struct {
	IO         *iostreams.IOStreams
	AgentFlags cmdutil.AgentFlags
	// Resolve finds the model configuration and its source.
	Resolve func(llm.Config) (llm.Config, cmdutil.ModelSource, error)
	// ListModels asks the endpoint for its models.
	ListModels func(context.Context, llm.Config) ([]string, error)
	// Client reaches the team server.
	Client client.Options
	// ConfigPath is the config file's path ("" when there is none).
	ConfigPath func() string
	// ThreadsPath is where threads are kept.
	ThreadsPath func() (string, error)
	// IndexDir is the folder of the index caches ("" when there is none).
	IndexDir func() string
}

// NewCmdDoctor builds `loom doctor`; runF, when given, replaces the run.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IOStreams, Resolve: cmdutil.ResolveModel, ListModels: llm.ListModels,
		ConfigPath: llm.ConfigPath, ThreadsPath: thread.DefaultPath, IndexDir: analysis.DefaultCacheDir}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, the model's endpoint, the threads and the index cache",
		Long: `Show the configuration a run would use, each value with where it came from
(a flag, an environment variable, the config file, the team server signed
in to with loom login, or the default), the config file and any keys of it
Loom does not read; ask the endpoint for its models and say whether the
configured one is among them; and check the thread database and the index
cache, with their sizes.

Exit codes: 0 when all is well, 1 when something is broken (the lines
marked "problem" say what).`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.RegisterModel(cmd)
	return cmd
}

// report prints aligned lines and counts the problems among them.
type report struct {
	w        io.Writer
	problems int
}

func (r *report) line(label, format string, args ...any) {
	fmt.Fprintf(r.w, "%-13s %s\n", label+":", fmt.Sprintf(format, args...))
}

func (r *report) problem(label, format string, args ...any) {
	r.problems++
	r.line(label, "problem: "+format, args...)
}

func doctorRun(ctx context.Context, o *DoctorOptions) error {
	r := &report{w: o.IO.Out}
	configFile(r, o.ConfigPath())
	model(ctx, r, o)
	who, err := client.WhoAmI(ctx, o.Client)
	switch {
	case err == nil:
		r.line("team server", "%s, signed in as %s", who.Server, who.Email)
	case errors.Is(err, client.ErrNotSignedIn):
		r.line("team server", "not signed in (loom login SERVER)")
	default:
		r.problem("team server", "%v", err)
	}
	threads(ctx, r, o.ThreadsPath)
	indexCache(r, o.IndexDir())
	if r.problems > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("%d problem(s) found", r.problems)}
	}
	fmt.Fprintln(o.IO.ErrOut, "No problems found.")
	return nil
}

// configFile reports the config file and the keys of it Loom does not read.
func configFile(r *report, path string) {
	if path == "" {
		r.line("config file", "none (neither XDG_CONFIG_HOME nor HOME is set)")
		return
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		r.line("config file", "%s (not there: only flags and the environment configure Loom)", path)
		return
	}
	r.line("config file", "%s", path)
	keys, err := llm.UnknownConfigKeys(path)
	if err != nil {
		r.problem("config file", "%v", err)
	}
	for _, k := range keys {
		r.problem("config file", "%s: Loom ignores it", k)
	}
}

// model reports the model configuration with its origins, and what the
// endpoint says of it.
func model(ctx context.Context, r *report, o *DoctorOptions) {
	cfg, source, err := o.Resolve(o.AgentFlags.LLMConfig(o.AgentFlags.Model))
	if err != nil {
		r.problem("model", "none can be used:\n%s", indent(err.Error()))
		return
	}
	from := func(origin string) string {
		if origin == "" {
			return ""
		}
		return "  (from " + origin + ")"
	}
	key := "none"
	if cfg.APIKey != "" {
		key = "set"
	}
	r.line("provider", "%s%s", cfg.Provider, from(cfg.From.Provider))
	r.line("model", "%s%s", cfg.Model, from(cfg.From.Model))
	r.line("base URL", "%s%s", cfg.BaseURL, from(cfg.From.BaseURL))
	r.line("API key", "%s%s", key, from(cfg.From.APIKey))
	r.line("source", "%s", source)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	models, err := o.ListModels(ctx, cfg)
	switch {
	case err != nil:
		r.problem("endpoint", "not reached: %v", err)
	case slices.Contains(models, cfg.Model):
		r.line("endpoint", "reached; it lists %d model(s), %q among them", len(models), cfg.Model)
	default:
		r.problem("endpoint", "reached, but %q is not among the %d model(s) it lists: %s", cfg.Model, len(models), sample(models))
	}
}

// threads reports the thread database: where, how big, and whether SQLite
// finds it sound.
func threads(ctx context.Context, r *report, path func() (string, error)) {
	p, err := path()
	if err != nil {
		r.problem("threads", "not kept: %v", err)
		return
	}
	size, err := fileSize(p)
	if errors.Is(err, fs.ErrNotExist) {
		r.line("threads", "%s (not created yet: the first run creates it)", p)
		return
	}
	st, err := thread.OpenForReading(p)
	if err != nil {
		r.problem("threads", "%v", err)
		return
	}
	defer st.Close()
	n, err := st.Check(ctx)
	if err != nil {
		r.problem("threads", "%s: %v", p, err)
		return
	}
	wal, _ := fileSize(p + "-wal")
	r.line("threads", "%s (%s, %d thread(s), sound)", p, bytesText(size+wal), n)
}

// indexCache reports the folder of index caches and what it holds.
func indexCache(r *report, dir string) {
	if dir == "" {
		r.line("index cache", "none (no cache folder: indexes are built in memory each time)")
		return
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		r.line("index cache", "%s (empty)", dir)
		return
	}
	if err != nil {
		r.problem("index cache", "%v", err)
		return
	}
	var n int
	var total int64
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".idx" {
			continue
		}
		if info, err := e.Info(); err == nil {
			n, total = n+1, total+info.Size()
		}
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		r.problem("index cache", "%s cannot be written (indexes are rebuilt each time): %v", dir, err)
		return
	}
	r.line("index cache", "%s (%d workspace(s), %s)", dir, n, bytesText(total))
}

func fileSize(p string) (int64, error) {
	info, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// sample shows a few of a long list.
func sample(ids []string) string {
	if len(ids) > 8 {
		return strings.Join(ids[:8], ", ") + ", …"
	}
	return strings.Join(ids, ", ")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
