package codeindex

import (
	"context"
	"errors"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// A cold repository must not make the user wait: indexing Go's source tree
// takes seconds, and the agent's first model request should go out within
// one. So the whole index is built in the background (Prepare), and a run
// that cannot wait for it gets the map of what can be indexed at once: the
// files in focus and their neighbourhood (QuickRepoMap). The background
// build writes the disk cache for the next run and serves every later
// query of this process (the LSP server's, the tools').
//
// A process that ends calls Wait: the build finishes and writes its cache,
// or, when Wait's context ends first (the user's Ctrl+C), stops and writes
// what it has parsed, which the next build reuses: indexing resumes rather
// than starts over.

// quickFiles bounds the neighbourhood a quick map indexes: a few hundred
// files parse in well under a second on one core.
const quickFiles = 256

// warmWait is how long QuickRepoMap waits for an index it can load from
// the disk cache.
const warmWait = 2 * time.Second

// maxWanted bounds the maps a background build renders when it is done.
const maxWanted = 4

var background struct {
	sync.Mutex
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// backgroundContext is the context background builds run under: ended by a
// Wait whose own context ended first.
func backgroundContext() context.Context {
	background.Lock()
	defer background.Unlock()
	if background.ctx == nil || background.ctx.Err() != nil {
		background.ctx, background.cancel = context.WithCancel(context.Background())
	}
	return background.ctx
}

// Wait blocks until the background builds of this process are done, their
// caches written. When ctx ends first, it stops them and waits for them to
// write what they have (a moment), and returns ctx's error.
func Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		background.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	background.Lock()
	if background.cancel != nil {
		background.cancel()
	}
	background.Unlock()
	<-done
	return ctx.Err()
}

// Prepare starts building the index in the background unless it is built
// or being built, and returns a channel closed when that build is over.
func (s *Service) Prepare() <-chan struct{} {
	ch, _ := s.prepare()
	return ch
}

// prepare is Prepare, saying whether this call started the build.
func (s *Service) prepare() (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.building != nil {
		return s.building, false
	}
	ch := make(chan struct{})
	if s.ix != nil {
		close(ch)
		return ch, false
	}
	s.building = ch
	ctx := backgroundContext()
	background.wg.Add(1)
	go func() {
		defer background.wg.Done()
		if s.beforeBuild != nil {
			s.beforeBuild(ctx)
		}
		// A failed build leaves no index: the next query builds again.
		ix, err := s.Index(ctx)
		s.mu.Lock()
		s.building = nil
		wanted := s.wanted
		s.wanted = nil
		s.mu.Unlock()
		close(ch)
		// The maps runs settled without are rendered now, and kept beside
		// the cache: the next run with the same focus reads its map back.
		for _, w := range wanted {
			if err != nil || ctx.Err() != nil {
				break
			}
			ix.RepoMap(w)
		}
	}()
	return ch, true
}

// Warm starts loading the index from the disk cache in the background when
// there is a cache and no index in memory, for the QuickRepoMap this
// process is about to ask: a run starts it first thing, so that the load
// (a stat of every file) overlaps the run's other preparations (its thread
// database) instead of following them. The next QuickRepoMap takes that
// build's index as current, as it would one it started itself.
func (s *Service) Warm() {
	if s.Ready() || !analysis.HasCache(s.ws.Root(), s.opts) {
		return
	}
	built, ours := s.prepare()
	if ours {
		s.mu.Lock()
		s.warming = built
		s.mu.Unlock()
	}
}

// Ready reports whether the whole index is built (it may still need a
// check against the disk, which the next query makes).
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ix != nil
}

// QuickRepoMap is RepoMap for a run that must not wait for a cold index.
// When the disk cache holds the index, the build is a load and a stat per
// file: it is waited for up to warmWait, and the map is the whole index's.
// Otherwise the map is of the files in focus and their neighbourhood,
// indexed first and alone (so they have the machine), and the whole index
// is built in the background after it, rendering this map once done for
// the next run. complete says which map it is.
func (s *Service) QuickRepoMap(ctx context.Context, cs *workspace.Changeset, focus []string, tokens int) (m string, complete bool, err error) {
	rels := s.focus(cs, focus)
	s.mu.Lock()
	warmed := s.warming
	s.warming = nil
	s.mu.Unlock()
	if warmed != nil || !s.Ready() && analysis.HasCache(s.ws.Root(), s.opts) {
		timer := time.NewTimer(warmWait)
		defer timer.Stop()
		built, ours := warmed, true
		if warmed == nil {
			built, ours = s.prepare()
		}
		select {
		case <-built:
			// Built since this call began, or since Warm at the start of
			// the run: as current as a check would make it, without
			// another stat of every file.
			s.mu.Lock()
			ix := s.ix
			s.mu.Unlock()
			if ix != nil && ours {
				return ix.RepoMap(analysis.RepoMapOptions{Focus: rels, MaxTokens: tokens}), true, nil
			}
		case <-timer.C:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
	if s.Ready() {
		m, err := s.RepoMap(ctx, cs, focus, tokens)
		return m, err == nil, err
	}
	limit := quickFiles
	if s.quickFiles > 0 {
		limit = s.quickFiles
	}
	files := s.neighbourhood(ctx, cs, rels, limit)
	ix, err := analysis.BuildIndex(ctx, s.ws.Root(), files, analysis.Options{NoCache: true, Workers: s.opts.Workers,
		MaxFileSize: s.opts.MaxFileSize, MaxLineLength: s.opts.MaxLineLength, ParseTimeout: s.opts.ParseTimeout})
	s.Prepare()
	s.mu.Lock()
	if s.ix == nil && s.building != nil && len(s.wanted) < maxWanted {
		s.wanted = append(s.wanted, analysis.RepoMapOptions{Focus: rels, MaxTokens: tokens})
	}
	s.mu.Unlock()
	if err != nil {
		return "", false, err
	}
	return ix.RepoMap(analysis.RepoMapOptions{Focus: rels, MaxTokens: tokens}), false, nil
}

// neighbourhood lists up to limit files analysis understands, nearest the
// focus first: the files in focus, then their folders' files, then the
// root's, then those of the folders below, breadth first, as the
// changeset's walk sees them (.gitignore honoured).
func (s *Service) neighbourhood(ctx context.Context, cs *workspace.Changeset, focus []string, limit int) []string {
	var files, queue []string
	have := map[string]bool{}
	seen := map[string]bool{}
	add := func(rel string) {
		if _, ok := analysis.LanguageForPath(rel); ok && !have[rel] && len(files) < limit {
			have[rel] = true
			files = append(files, rel)
		}
	}
	for _, f := range focus {
		add(f)
		if d := path.Dir(f); !seen[d] {
			seen[d] = true
			queue = append(queue, d)
		}
	}
	if !seen["."] {
		seen["."] = true
		queue = append(queue, ".")
	}
	errFull := errors.New("full")
	for len(queue) > 0 && len(files) < limit && ctx.Err() == nil {
		dir := queue[0]
		queue = queue[1:]
		err := cs.Walk(ctx, dir, func(rel string, isDir bool) error {
			if isDir {
				if rel == dir {
					return nil
				}
				if !seen[rel] {
					seen[rel] = true
					queue = append(queue, rel)
				}
				return workspace.SkipDir
			}
			add(rel)
			if len(files) >= limit {
				return errFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errFull) {
			continue // a folder gone or unreadable: the others still count
		}
	}
	return files
}

// focus resolves the paths in focus as the model gives them; those that
// do not resolve are left out.
func (s *Service) focus(cs *workspace.Changeset, focus []string) []string {
	rels := make([]string, 0, len(focus))
	for _, f := range focus {
		if rel, err := cs.Workspace().Resolve(f); err == nil && !slices.Contains(rels, rel) {
			rels = append(rels, rel)
		}
	}
	return rels
}
