// Package codeindex owns the symbol index of each workspace root in a
// process. The LSP server, the analysis tools and the agent's repo map ask
// For the service of their workspace and get the same one, which:
//
//   - builds the index (or loads it from analysis' disk cache) on first use,
//     once: concurrent queries wait for that build and share it;
//   - checks before each answer that the disk has not moved behind its back,
//     with a stat per indexed file and per folder walked (no walk, no cache
//     load), re-reading only the files that changed, and walking again only
//     when a folder gained or lost an entry;
//   - takes hints of what changed (Invalidate: a save, a watched-file event),
//     which it reads again even when their size and time look the same.
//
// The index is of the disk. Queries take the caller's changeset and answer
// for staged edits and editor buffers from it (overlay.go), so one index
// serves every run and every editor buffer.
//
// A service is kept per root, not per *workspace.Workspace: front ends open
// several Workspace values on one folder (the MCP server one per call, the
// ACP agent one per session, the LSP server one it hands to the agent), and
// all should share what is a property of the folder. Keeping it here rather
// than carrying it on tools.Env and agent tasks spares every front end the
// wiring. The few most recently used roots are kept (maxServices), so a
// client naming many folders cannot grow the process without bound.
package codeindex

import (
	"context"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

const (
	// maxServices bounds the roots whose index a process keeps.
	maxServices = 8
	// maxDirty bounds the files remembered for re-reading; beyond it the
	// next query walks the tree again, which costs no more.
	maxDirty = 1024
)

// Stats count what a service did, for tests and diagnostics.
type Stats struct {
	// Walks counts walks of the whole tree: the first build, and each time
	// a folder gained or lost an entry.
	Walks int
	// Updates counts refreshes that re-read some files only.
	Updates int
	// Checks counts the stat checks before answers.
	Checks int
}

// Service owns the index of one workspace root.
type Service struct {
	ws   *workspace.Workspace // walked without a changeset's edits: the index is of the disk
	opts analysis.Options

	sem chan struct{} // held by the one check or build in flight

	// Tests set these: a hook the background build runs first, and the
	// neighbourhood's size in place of quickFiles.
	beforeBuild func(context.Context)
	quickFiles  int

	mu       sync.Mutex
	ix       *analysis.Index
	building chan struct{}             // closed when the background build (Prepare) is over
	warming  <-chan struct{}           // the build Warm started, until a QuickRepoMap takes it
	wanted   []analysis.RepoMapOptions // maps to render once it is
	dirs     map[string]int64          // folders walked → modification time before their listing
	dirty    map[string]bool           // files to read again (Invalidate)
	rewalk   bool                      // walk again at the next query
	started  uint64                    // checks begun
	covered  uint64                    // the number of the last check that finished
	stats    Stats
}

var registry struct {
	sync.Mutex
	services []*Service // least recently used first
}

// For returns the process's service for ws's root, creating it (without
// building anything) on first use. Callers look it up each time rather
// than keep it, so all of them keep using the same one.
func For(ws *workspace.Workspace) *Service {
	registry.Lock()
	defer registry.Unlock()
	for i, s := range registry.services {
		if s.ws.Root() == ws.Root() {
			registry.services = append(slices.Delete(registry.services, i, i+1), s)
			return s
		}
	}
	s := New(ws, analysis.Options{})
	if len(registry.services) >= maxServices {
		registry.services = slices.Delete(registry.services, 0, 1)
	}
	registry.services = append(registry.services, s)
	return s
}

// New returns a service of its own for ws's root, shared with nobody (For
// returns the shared one).
func New(ws *workspace.Workspace, opts analysis.Options) *Service {
	return &Service{ws: ws, opts: opts, sem: make(chan struct{}, 1)}
}

// Root returns the root the service indexes.
func (s *Service) Root() string { return s.ws.Root() }

// Stats reports what the service did so far.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Invalidate tells the service that the files at these root-relative paths
// changed on disk: the next query reads them again. Paths that leave the
// root are ignored.
func (s *Service) Invalidate(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range paths {
		p = filepath.ToSlash(filepath.Clean(p))
		if !filepath.IsLocal(p) {
			continue
		}
		if s.dirty == nil {
			s.dirty = map[string]bool{}
		}
		s.dirty[p] = true
	}
	if len(s.dirty) > maxDirty {
		s.dirty, s.rewalk = nil, true
	}
}

// Index returns the index, up to date with the disk as of the call: built
// on first use, else checked and refreshed. One check runs at a time; a
// query that waited for one begun after it arrived takes its result.
func (s *Service) Index(ctx context.Context) (*analysis.Index, error) {
	s.mu.Lock()
	arrived := s.started
	s.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()

	s.mu.Lock()
	if s.ix != nil && s.covered > arrived && !s.rewalk && len(s.dirty) == 0 {
		ix := s.ix
		s.mu.Unlock()
		return ix, nil
	}
	s.started++
	n := s.started
	prev, dirs, dirty, rewalk := s.ix, s.dirs, s.dirty, s.rewalk
	s.dirty, s.rewalk = nil, false
	s.mu.Unlock()

	r, err := s.refresh(ctx, prev, dirs, dirty, rewalk)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Keep what was to be done for the next query.
		s.rewalk = s.rewalk || rewalk
		for p := range dirty {
			if s.dirty == nil {
				s.dirty = map[string]bool{}
			}
			s.dirty[p] = true
		}
		return nil, err
	}
	s.ix, s.covered = r.ix, n
	if r.dirs != nil {
		s.dirs = r.dirs
	}
	s.stats.Checks++
	if r.walked {
		s.stats.Walks++
	}
	if r.updated {
		s.stats.Updates++
	}
	return r.ix, nil
}

type refreshed struct {
	ix      *analysis.Index
	dirs    map[string]int64 // non-nil after a walk
	walked  bool
	updated bool
}

// refresh brings prev up to date: a build or a walk when there is no index,
// a walk is asked for or a folder changed; else the files whose stat
// changed, and those invalidated, read again.
func (s *Service) refresh(ctx context.Context, prev *analysis.Index, dirs map[string]int64, dirty map[string]bool, rewalk bool) (refreshed, error) {
	var r refreshed
	if prev == nil && !rewalk {
		// A warm start: the walk an earlier process kept, checked while
		// the index loads from it.
		if st := s.loadWalk(); st != nil {
			// The folders are stated while the index is built from the
			// list: a folder that moved makes it the base of a new walk.
			moved := make(chan bool, 1)
			go func() { moved <- stampsChanged(s.ws, st.Stamps) }()
			stale := sync.OnceValue(func() bool { return <-moved })
			ix, err := analysis.BuildIndexIf(ctx, s.ws.Root(), st.Files, s.opts, func() bool { return !stale() })
			if err != nil {
				return r, err
			}
			if stale() {
				prev, rewalk = ix, true
			} else {
				r.ix, r.dirs = ix, st.Stamps
				if len(dirty) == 0 {
					return r, nil
				}
				prev = ix
			}
		}
	}
	if prev == nil || rewalk || stampsChanged(s.ws, dirs) {
		files, dirs, err := s.walk(ctx)
		if err != nil {
			return r, err
		}
		r.dirs, r.walked = dirs, true
		if prev == nil {
			r.ix, err = analysis.BuildIndex(ctx, s.ws.Root(), files, s.opts)
		} else {
			r.ix, err = prev.Refresh(ctx, files)
		}
		if err == nil && r.ix.Stats().CacheError == "" {
			s.saveWalk(walkState{Stamps: dirs, Files: files})
		}
		if err != nil || len(dirty) == 0 {
			return r, err
		}
		// The walk reuses entries whose stat is unchanged; what was
		// invalidated is read again all the same.
		prev = r.ix
	}
	var changed []string
	if !r.walked {
		var err error
		if changed, err = prev.Changed(ctx); err != nil {
			return r, err
		}
	}
	for p := range dirty {
		// A file the index does not hold is new (its folder's time tells,
		// and the walk it brings honours .gitignore) or of no interest.
		if prev.File(p) != nil && !slices.Contains(changed, p) {
			changed = append(changed, p)
		}
	}
	r.ix = prev
	if len(changed) > 0 {
		ix, err := prev.Update(ctx, changed)
		if err != nil {
			return r, err
		}
		r.ix, r.updated = ix, true
	}
	return r, nil
}

// walk lists the files below the root that analysis understands (honouring
// .gitignore), and the folders it listed with their modification times,
// taken before each listing so that an entry added during the walk shows
// at the next check.
func (s *Service) walk(ctx context.Context) ([]string, map[string]int64, error) {
	var files []string
	dirs := map[string]int64{}
	dirs[".git/info/exclude"] = stamp(s.ws, ".git/info/exclude")
	err := s.ws.NewChangeset().Walk(ctx, ".", func(rel string, isDir bool) error {
		if isDir {
			if st, err := s.ws.Stamp(rel); err == nil {
				dirs[rel] = st.ModTime
			}
			// An ignore file edited in place leaves its folder's time.
			ignore := path.Join(rel, ".gitignore")
			dirs[ignore] = stamp(s.ws, ignore)
			return nil
		}
		if _, ok := analysis.LanguageForPath(rel); ok {
			files = append(files, rel)
		}
		return nil
	})
	return files, dirs, err
}

// stampsChanged reports whether a folder walked gained or lost an entry
// (or went), or an ignore file changed, came or went since: its
// modification time moved. An ignore file that was absent is not looked
// for when its folder is stamped: one coming adds an entry to the folder,
// whose time then moves. (On Go's tree that spares 1,300 of 2,600 stats.)
// The stats are shared among the cores; a warm start makes them while
// its index loads.
func stampsChanged(ws *workspace.Workspace, stamps map[string]int64) bool {
	rels := make([]string, 0, len(stamps))
	for rel, mtime := range stamps {
		if mtime == 0 && path.Base(rel) == ".gitignore" {
			if _, ok := stamps[path.Dir(rel)]; ok {
				continue
			}
		}
		rels = append(rels, rel)
	}
	workers := min(runtime.GOMAXPROCS(0), len(rels)/256+1)
	var moved atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(rels) && !moved.Load(); i += workers {
				if stamp(ws, rels[i]) != stamps[rels[i]] {
					moved.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return moved.Load()
}

// stamp is rel's modification time, 0 when it does not exist.
func stamp(ws *workspace.Workspace, rel string) int64 {
	st, err := ws.Stamp(rel)
	if err != nil {
		return 0
	}
	return st.ModTime
}
