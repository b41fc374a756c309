// Package cmdutil holds what loom's commands share: the Factory that says
// how a command obtains its workspace, agent, thread store, session and
// approver; exit codes and the errors that choose them; the agent flags;
// the terminal's approval prompt; and the rendering of a run's progress.
package cmdutil

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/mcpclient"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// Factory gives commands their streams and dependencies. Each command
// copies what it needs into its options, where a test may replace it.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// BuildVersion is the version set at build time (-ldflags
	// "-X main.version=..."), "" when none was; see Version.
	BuildVersion string
	// ModelConfig completes what the flags say of the model configuration
	// (ResolveModel: flags, the environment, the config file; else the
	// team server signed in to).
	ModelConfig func(llm.Config) (llm.Config, error)
	// OpenStore opens the thread database at db, or at its default place
	// (LOOM_DB, then the user's data folder) when db is empty.
	OpenStore func(db string, mode StoreMode) (*thread.Store, error)
	// Workspace opens the workspace rooted at root.
	Workspace func(root string) (*workspace.Workspace, error)
	// Tools returns the registry of Loom's own tools, which `loom tool`
	// and `loom analyze` run directly.
	Tools func() (*tools.Registry, error)
	// AgentTools returns the registry of the tools the agent offers in the
	// workspace at root: Loom's own, and those of the configured MCP
	// servers (the user's, and the repository's once trusted), started on
	// their first use.
	AgentTools func(root string) (*tools.Registry, error)
	// MCPServers is the process's pool of MCP servers, opened on first use
	// from the config file; Close ends them.
	MCPServers func() (*mcpclient.Pool, error)

	closers []func() error
}

// StoreMode says whether a command writes to the thread database: one that
// only reads can list a database it may not write (thread.OpenForReading).
type StoreMode int

const (
	ReadWrite StoreMode = iota
	ReadOnly
)

// New is the factory of the real commands, on the given streams.
func New(ios *iostreams.IOStreams, buildVersion string) *Factory {
	f := &Factory{
		IOStreams:    ios,
		BuildVersion: buildVersion,
		ModelConfig:  memoModel(ResolveModel, time.Minute, time.Now),
		OpenStore:    OpenStore,
		Workspace:    workspace.New,
		Tools:        tools.NewBuiltinRegistry,
	}
	f.MCPServers = sync.OnceValues(func() (*mcpclient.Pool, error) {
		p, err := mcpclient.NewPool(llm.ConfigPath(), slog.Default())
		if err == nil {
			f.closers = append(f.closers, p.Close)
		}
		return p, err
	})
	f.AgentTools = func(root string) (*tools.Registry, error) {
		reg, err := f.Tools()
		if err != nil {
			return nil, err
		}
		pool, err := f.MCPServers()
		if err != nil {
			return nil, err
		}
		reg.AddSource(pool.Set(root))
		return reg, nil
	}
	return f
}

// Close ends what the commands started that outlives them: the MCP
// servers.
func (f *Factory) Close() {
	for _, c := range f.closers {
		if err := c(); err != nil {
			slog.Debug("closing", "err", err)
		}
	}
}

// OpenStore opens the thread database at db, or at its default place
// when db is empty: Factory.OpenStore of the real commands.
func OpenStore(db string, mode StoreMode) (*thread.Store, error) {
	if db == "" {
		var err error
		if db, err = thread.DefaultPath(); err != nil {
			return nil, err
		}
	}
	if mode == ReadOnly {
		return thread.OpenForReading(db)
	}
	return thread.Open(db)
}

// Version is Loom's version: the one set at build time, else the module's,
// else "dev".
func (f *Factory) Version() string {
	if f.BuildVersion != "" {
		return f.BuildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Agent builds the agent for a workspace from the flags, with the tools of
// f.AgentTools. With no model configured it returns llm.ErrNoModel's
// instructions.
func (f *Factory) Agent(flags AgentFlags, ws *workspace.Workspace) (*agent.Agent, error) {
	reg, err := f.AgentTools(ws.Root())
	if err != nil {
		return nil, err
	}
	return f.AgentWith(flags, ws, flags.Model, reg)
}

// AgentWith builds the agent with a given model (empty: the configured
// one) and tool registry, as a protocol session may choose them. Which
// commands it may run is each run's approver's to say.
func (f *Factory) AgentWith(flags AgentFlags, ws *workspace.Workspace, model string, reg *tools.Registry) (*agent.Agent, error) {
	cfg, err := f.ModelConfig(flags.LLMConfig(model))
	if err != nil {
		return nil, err
	}
	provider, err := llm.New(cfg)
	if err != nil {
		return nil, err
	}
	return f.AgentOn(flags, ws, provider, cfg.Model, reg)
}

// AgentOn builds the agent on a given model provider (the MCP client's,
// through sampling) with the tool registry given.
func (f *Factory) AgentOn(flags AgentFlags, ws *workspace.Workspace, provider llm.Provider, model string, reg *tools.Registry) (*agent.Agent, error) {
	return agent.New(agent.Options{
		Provider:  provider,
		Model:     model,
		Tools:     reg,
		MaxTurns:  flags.MaxTurns,
		MaxTokens: flags.MaxTokens,
		Logger:    slog.Default(),
		RepoMap:   repoMapFor(ws),
	})
}

// ModelName is the model a run will use, for the thread record.
func (f *Factory) ModelName(flags AgentFlags) string {
	cfg, err := f.ModelConfig(flags.LLMConfig(flags.Model))
	if err != nil {
		return ""
	}
	return cfg.Model
}

// repoMapFor returns the agent's repo map source for a workspace: the map
// of the index its tools and the LSP server share (codeindex) when the disk
// cache holds it, else of the files in focus and their neighbourhood while
// the whole index is built in the background (FinishIndexing waits for it
// at exit); nothing if even that takes too long. A warm index starts
// loading now, while the caller opens its thread database (codeindex's
// Warm).
func repoMapFor(ws *workspace.Workspace) func(ctx context.Context, focus []string) string {
	codeindex.For(ws).Warm()
	return func(ctx context.Context, focus []string) string {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, complete, err := codeindex.For(ws).QuickRepoMap(ctx, ws.NewChangeset(), focus, tools.DefaultRepoMapTokens)
		if err != nil {
			slog.Debug("repo map unavailable", "err", err)
			return ""
		}
		if !complete {
			slog.Debug("repo map of the focus and its neighbourhood: the whole index is being built")
		}
		return m
	}
}

// FinishIndexing waits, at the end of a command, for the indexes a run
// started building in the background, so the next run finds them on disk.
// When ctx ends (Ctrl+C), they stop and keep what they parsed: the next
// build resumes from there.
func (f *Factory) FinishIndexing(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		codeindex.Wait(ctx)
	}()
	select {
	case <-done:
		return
	case <-time.After(time.Second):
	}
	if f.IOStreams.IsStderrTTY() {
		fmt.Fprintln(f.IOStreams.ErrOut, "loom: indexing the repository for the next run (Ctrl+C stops; it resumes next time)")
	}
	<-done
}

// Session opens the thread database (db, else the default path) for a
// run, and resolves threadArg (an ID or unique prefix) when given. A run
// that cannot be recorded still runs, unless it was asked to continue a
// thread: then the error is returned. done closes the database.
func (f *Factory) Session(ctx context.Context, db, threadArg string) (svc *session.Service, id string, done func(), err error) {
	st, err := f.OpenStore(db, ReadWrite)
	switch {
	case err != nil && threadArg != "":
		return nil, "", nil, err
	case err != nil:
		slog.Warn("not recording this run as a thread", "err", err)
		return &session.Service{}, "", func() {}, nil
	}
	if threadArg != "" {
		if id, err = st.Resolve(ctx, threadArg); err != nil {
			st.Close()
			return nil, "", nil, err
		}
	}
	return &session.Service{Store: st}, id, func() { st.Close() }, nil
}

// Approver is the approver of a command a person runs, from --shell and
// --allow-shell (see the function Approver).
func (f *Factory) Approver(flags AgentFlags) (tools.Approver, error) {
	return Approver(f.IOStreams, flags)
}
