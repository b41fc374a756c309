package analysis

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// A long-lived process keeps one Index and derives the next from it, rather
// than build from the disk cache on every query: Changed finds what moved
// on disk with a stat per file, Update re-reads those files and keeps every
// other entry, and Refresh takes a new file list (after a walk) with the
// same reuse the disk cache gives. Entries are shared between an index and
// those derived from it, never modified once shared: each is materialized
// first, so no two indexes decode the same cached body.

// Changed lists the indexed files whose size or modification time on disk
// differ from the index's, or that are gone: what Update should read again.
// It stats every file, in parallel, and reads none.
func (ix *Index) Changed(ctx context.Context) ([]string, error) {
	var mu sync.Mutex
	var out []string
	err := parallel(ctx, ix.opts.Workers, len(ix.all), func(_ int, next func() (int, bool)) {
		var local []string
		for i, ok := next(); ok; i, ok = next() {
			e := ix.all[i]
			st, err := ix.fsys.Stamp(e.Path)
			if err != nil || !st.Mode.IsRegular() || st.Size != e.Size || st.ModTime != e.ModTime {
				local = append(local, e.Path)
			}
		}
		mu.Lock()
		out = append(out, local...)
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// Update returns an index in which the files named (root-relative) are read
// again: dropped when gone, unreadable or in no language, added when new.
// Every other entry is kept as it is, without a look at the disk. The disk
// cache is not written (a whole cache for one file would cost more than the
// file): the next Refresh saves it. ix is unchanged and stays usable.
func (ix *Index) Update(ctx context.Context, changed []string) (*Index, error) {
	began := time.Now()
	ix.materialize()
	next := &Index{root: ix.root, fsys: ix.fsys, opts: ix.opts, unsaved: true}
	gone := map[string]bool{}
	for _, p := range changed {
		gone[filepathToSlashClean(p)] = true
	}
	var paths []string
	for _, p := range candidatePaths(changed) {
		if filepath.IsLocal(p) {
			paths = append(paths, p)
		}
	}
	fresh, _, _, _, err := next.read(ctx, paths, func() map[string]*FileEntry { return nil })
	if err != nil {
		return nil, err
	}
	// Both lists are sorted by path: merge them.
	entries := make([]*FileEntry, 0, len(ix.all)+len(fresh))
	reused := make([]bool, 0, cap(entries))
	kept := ix.all
	for _, e := range fresh {
		if e == nil {
			continue
		}
		for len(kept) > 0 && kept[0].Path < e.Path {
			if !gone[kept[0].Path] {
				entries, reused = append(entries, kept[0]), append(reused, true)
			}
			kept = kept[1:]
		}
		entries, reused = append(entries, e), append(reused, false)
	}
	for _, e := range kept {
		if !gone[e.Path] {
			entries, reused = append(entries, e), append(reused, true)
		}
	}
	next.finish(entries, reused)
	next.stats.Duration = time.Since(began)
	return next, nil
}

// Refresh returns an index of files (as BuildIndex takes them, after a new
// walk), reusing ix's entries whose size and modification time are
// unchanged as BuildIndex reuses the disk cache's, and saving the cache
// when the entries differ from what it holds. ix is unchanged and stays
// usable.
func (ix *Index) Refresh(ctx context.Context, files []string) (*Index, error) {
	began := time.Now()
	ix.materialize()
	cached := make(map[string]*FileEntry, len(ix.all))
	for _, e := range ix.all {
		cached[e.Path] = e
	}
	next := &Index{root: ix.root, fsys: ix.fsys, opts: ix.opts}
	cachePath := ""
	if !ix.opts.NoCache {
		cachePath = cacheFile(ix.root, ix.opts)
		next.stats.CachePath = cachePath
	}
	if err := next.fill(ctx, candidatePaths(files), func() map[string]*FileEntry { return cached }, cachePath, ix.unsaved, nil); err != nil {
		return nil, err
	}
	next.stats.Duration = time.Since(began)
	return next, nil
}
