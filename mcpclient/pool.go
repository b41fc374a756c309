package mcpclient

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/tools"
)

// Pool is every MCP server a Loom process may use: the user's, shared by
// every workspace, and each repository's, once the user trusted its list.
// Nothing starts until a Set's tools are first asked for. Close ends them
// all.
type Pool struct {
	user      File
	trustPath string
	authDir   string
	log       *slog.Logger

	mu     sync.Mutex
	users  map[string]*Server
	sets   map[string]*Set // by workspace root
	closed bool
}

// NewPool reads the user's servers from Loom's config file at configPath
// (llm.ConfigPath; "" for none); a malformed list is an error naming the
// file. The trust file is beside it.
func NewPool(configPath string, log *slog.Logger) (*Pool, error) {
	if log == nil {
		log = slog.Default()
	}
	user, err := LoadUser(configPath)
	if err != nil {
		return nil, err
	}
	p := &Pool{user: user, log: log, users: map[string]*Server{}, sets: map[string]*Set{}}
	if configPath != "" {
		p.trustPath = filepath.Join(filepath.Dir(configPath), TrustFileName)
		p.authDir = filepath.Join(filepath.Dir(configPath), AuthDirName)
	}
	return p, nil
}

// TrustPath is where consent to repositories' lists is recorded.
func (p *Pool) TrustPath() string { return p.trustPath }

// Set returns the servers of a workspace root ("" for none): the user's
// and the repository's, when trusted. A repository's server named like one
// of the user's is left out (the user's is the one meant), as is every
// server of a list the user has not trusted as it is now; both are logged.
func (p *Pool) Set(root string) *Set {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sets[root]; ok {
		return s
	}
	wd, _ := os.Getwd()
	set := &Set{}
	for _, name := range p.user.Names() {
		cfg := p.user.Servers[name]
		if cfg.Disabled {
			continue
		}
		srv, ok := p.users[name]
		if !ok {
			srv = newServer(name, ScopeUser, cfg, wd, p.log)
			srv.authDir = p.authDir
			p.users[name] = srv
		}
		set.servers = append(set.servers, srv)
	}
	if root != "" {
		set.servers = append(set.servers, p.repoServers(root)...)
	}
	p.sets[root] = set
	return set
}

// repoServers are root's servers, when its list is trusted.
func (p *Pool) repoServers(root string) []*Server {
	r, err := ReadRepo(root)
	switch {
	case err != nil:
		p.log.Warn("not reading the repository's MCP servers", "root", root, "err", err)
		return nil
	case r.Hash == "":
		return nil
	case r.Err != nil:
		p.log.Warn("not starting the repository's MCP servers", "err", r.Err)
		return nil
	case !Trusted(p.trustPath, r):
		p.log.Warn("this repository lists MCP servers that are not started until you trust its list: "+
			"review it, then run `loom mcp-servers trust`", "file", filepath.Join(r.Root, RepoFile), "servers", r.File.Names())
		return nil
	}
	var out []*Server
	for _, name := range r.File.Names() {
		cfg := r.File.Servers[name]
		switch {
		case cfg.Disabled:
		case p.user.Servers[name].Command != "" || p.user.Servers[name].URL != "":
			p.log.Warn("the repository's MCP server is named like one of yours; yours is used", "server", name)
		default:
			srv := newServer(name, ScopeRepo, cfg, r.Root, p.log)
			srv.authDir = p.authDir
			out = append(out, srv)
		}
	}
	return out
}

// Close ends every server started.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var all []*Server
	seen := map[*Server]bool{}
	for _, s := range p.sets {
		for _, srv := range s.servers {
			if !seen[srv] {
				seen[srv] = true
				all = append(all, srv)
			}
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range all {
		wg.Go(func() { srv.Close() })
	}
	wg.Wait()
	return nil
}

// Set is the servers one workspace uses: a tools.Source of their tools.
type Set struct {
	servers []*Server
	once    sync.Once
}

// NewSet is a set of its owner's own servers, outside any pool: those an
// ACP client gives for one session. They are checked now (f.Check),
// started when the set's tools are first asked for, a stdio server in dir,
// with the same bounds as configured ones; Close ends them.
func NewSet(f File, scope Scope, dir string, log *slog.Logger) (*Set, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	set := &Set{}
	for _, name := range f.Names() {
		if cfg := f.Servers[name]; !cfg.Disabled {
			set.servers = append(set.servers, newServer(name, scope, cfg, dir, log))
		}
	}
	return set, nil
}

// Close ends the set's servers. Only the owner of a set made by NewSet
// calls it: a pool's sets end with the pool.
func (s *Set) Close() error {
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Go(func() { srv.Close() })
	}
	wg.Wait()
	return nil
}

// Servers lists the set's servers, the user's first, each sorted by name.
func (s *Set) Servers() []*Server { return s.servers }

// Tools lists the servers' tools under the names the model sees. The
// first call starts every server at once, and waits for them (each at most
// StartTimeout); a server that fails to start is logged and offers
// nothing. Later calls return the lists as last read.
func (s *Set) Tools() []tools.Tool {
	s.once.Do(func() {
		var wg sync.WaitGroup
		for _, srv := range s.servers {
			wg.Go(func() {
				if err := srv.Start(context.Background()); err != nil {
					srv.log.Warn("MCP server did not start; its tools are not offered", "err", err)
				}
			})
		}
		wg.Wait()
	})
	return s.list()
}

// ToolsOf lists srv's tools under the names the model sees, as Tools
// would, without starting any server.
func (s *Set) ToolsOf(srv *Server) []tools.Tool {
	var out []tools.Tool
	for _, t := range s.list() {
		if t.(*remoteTool).srv == srv {
			out = append(out, t)
		}
	}
	return out
}

// list is the servers' tools as last read, named.
func (s *Set) list() []tools.Tool {
	type found struct {
		srv  *Server
		key  remoteName
		tool mcp.Tool
	}
	var keys []remoteName
	var all []found
	for _, srv := range s.servers {
		for _, t := range srv.Tools() {
			if !srv.cfg.offers(t.Name) {
				continue
			}
			k := remoteName{srv.Name, t.Name}
			keys = append(keys, k)
			all = append(all, found{srv, k, t})
		}
	}
	names := assignNames(keys)
	out := make([]tools.Tool, 0, len(all))
	for _, f := range all {
		out = append(out, newTool(f.srv, f.tool, names[f.key]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec().Name < out[j].Spec().Name })
	return out
}
