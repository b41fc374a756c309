package analysis

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/loom-agent/loom/internal/beneath"
)

// Defaults for Options.
const (
	DefaultMaxFileSize = 4 << 20
	// A line this long means generated or minified code, not something to outline.
	DefaultMaxLineLength = 16 << 10
)

// Options tune BuildIndex. The zero value is usable.
type Options struct {
	// CacheDir holds index caches; "" means os.UserCacheDir()/loom/index,
	// and the cache is skipped if no user cache directory can be determined.
	CacheDir string
	// NoCache disables reading and writing the cache.
	NoCache bool
	// Workers is the number of parallel parsers; 0 means GOMAXPROCS.
	Workers int
	// MaxFileSize skips larger files unread; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxLineLength skips files with a longer line (minified bundles);
	// 0 means DefaultMaxLineLength.
	MaxLineLength int
	// ParseTimeout bounds each parse; 0 means DefaultParseTimeout.
	ParseTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = DefaultMaxLineLength
	}
	if o.ParseTimeout <= 0 {
		o.ParseTimeout = DefaultParseTimeout
	}
	return o
}

// NameCount is a distinct identifier a file uses and how often.
type NameCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	// Package counts the occurrences among Count that are an imported
	// package's name (fmt in fmt.Println), which the repo map leaves out.
	Package int `json:"package,omitempty"`
}

// FileEntry is the index's record of one file.
type FileEntry struct {
	Path     string `json:"path"` // relative to the root, slash-separated
	Language string `json:"language"`
	Size     int64  `json:"size"`
	ModTime  int64  `json:"mod_time"` // Unix nanoseconds
	// Skipped says why the file was not parsed ("too large", "binary",
	// "minified", or a parse failure); Symbols and Refs are then empty.
	Skipped string      `json:"skipped,omitempty"`
	Symbols []Symbol    `json:"symbols,omitempty"`
	Refs    []NameCount `json:"refs,omitempty"` // sorted by Name

	nsyms int       // len(Symbols), known before a cached body is decoded
	lazy  *lazyBody // non-nil while Symbols and Refs are still in the cache
}

// Stats describe what BuildIndex did.
type Stats struct {
	Files       int           `json:"files"`   // supported files in the index
	Parsed      int           `json:"parsed"`  // read and parsed this run
	Reused      int           `json:"reused"`  // taken from the cache unchanged
	Skipped     int           `json:"skipped"` // too large, binary, minified or unparsable
	Symbols     int           `json:"symbols"`
	CacheLoaded bool          `json:"cache_loaded"`
	CacheSaved  bool          `json:"cache_saved"`
	CachePath   string        `json:"cache_path,omitempty"`
	CacheError  string        `json:"cache_error,omitempty"` // a cache problem, never fatal
	Duration    time.Duration `json:"duration"`
}

// Index holds the definitions of every supported file of a workspace.
type Index struct {
	root  string
	fsys  *beneath.Root // every source read goes through it
	opts  Options
	files []*FileEntry // sorted by Path
	all   []*FileEntry // files, and the extensionless files in no language
	stats Stats
	// unsaved says the entries differ from the disk cache's (Update does
	// not write it); the next Refresh saves them.
	unsaved bool
	memo    mapMemo // the repo maps rendered of this index

	decoding  sync.Mutex  // held while the cached bodies are read
	decoded   atomic.Bool // every cached body is decoded: materialize
	exactOnce sync.Once
	exact     map[string][]symRef // built on first use: nameMap
	lowerOnce sync.Once
	lower     map[string][]symRef
}

type symRef struct{ file, sym int32 }

// Root returns the absolute workspace root.
func (ix *Index) Root() string { return ix.root }

// Stats reports what the build did.
func (ix *Index) Stats() Stats { return ix.stats }

// Files returns the entries, sorted by path. Callers must not modify them.
func (ix *Index) Files() []*FileEntry {
	ix.materialize()
	return ix.files
}

// materialize decodes the cached bodies of reused entries, in parallel, the
// first time anything needs symbols: a warm build itself only stats files.
// An entry whose body turns out corrupt is left empty and marked skipped.
func (ix *Index) materialize() {
	if ix.decoded.Load() {
		return
	}
	ix.decoding.Lock()
	defer ix.decoding.Unlock()
	if !ix.decoded.Load() {
		decodeBodies(ix.all, ix.opts.Workers)
		ix.decoded.Store(true)
	}
}

// Brief is what a listing shows of a definition.
type Brief struct {
	Name string
	Kind Kind
	Line int // of the name's start, 0-based
}

// ListDefinitions calls fn with every definition of the index, file by
// file in path order, each file's in their order, until fn fails. Bodies
// still in the disk cache are read for these fields alone, one after the
// other, and stay undecoded: listing Go's source tree this way costs a
// fraction of decoding its 380,000 symbols. A cached body found corrupt
// lists nothing (as decoding it would leave its entry empty). fn must not
// call the index's methods (the bodies are locked while it runs), nor keep
// defs, which the next call reuses.
func (ix *Index) ListDefinitions(fn func(path string, defs []Brief) error) error {
	if !ix.decoded.Load() {
		// Bodies are decoded under the lock; once all are, none is again.
		ix.decoding.Lock()
		defer ix.decoding.Unlock()
	}
	var buf []Brief
	for _, f := range ix.files {
		if f.lazy == nil {
			buf = appendBriefs(buf[:0], f.Symbols)
		} else {
			var err error
			if buf, err = f.lazy.brief(buf[:0]); err != nil {
				continue
			}
		}
		if len(buf) > 0 {
			if err := fn(f.Path, buf); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendBriefs(buf []Brief, syms []Symbol) []Brief {
	for _, s := range syms {
		buf = append(buf, Brief{Name: s.Name, Kind: s.Kind, Line: s.NameRange.Start.Line})
	}
	return buf
}

func decodeBodies(files []*FileEntry, workers int) {
	_ = parallel(context.Background(), workers, len(files), func(_ int, next func() (int, bool)) {
		for i, ok := next(); ok; i, ok = next() {
			f := files[i]
			if f.lazy == nil {
				continue
			}
			if err := f.lazy.decode(f); err != nil {
				f.Skipped = "cache: " + err.Error()
			}
			f.lazy = nil
		}
	})
}

// File returns the entry for a root-relative path, or nil.
func (ix *Index) File(path string) *FileEntry {
	ix.materialize()
	if i := ix.fileIndex(path); i >= 0 {
		return ix.files[i]
	}
	return nil
}

func filepathToSlashClean(p string) string { return filepath.ToSlash(filepath.Clean(p)) }

// BuildIndex indexes files (paths relative to root, as the caller's
// gitignore-aware walk produced them), reusing cached entries whose size and
// modification time are unchanged. Unsupported, missing and unreadable files
// are left out; a damaged or unwritable cache is reported in Stats, not as an
// error. The error is non-nil only when ctx is cancelled.
func BuildIndex(ctx context.Context, root string, files []string, opts Options) (*Index, error) {
	return BuildIndexIf(ctx, root, files, opts, nil)
}

// BuildIndexIf is BuildIndex from a list that may turn out stale (a walk
// kept by an earlier process, checked while the index loads): before the
// disk cache would be written, current says whether files is still the
// whole list. When it is not, the cache is left as it is and the index
// marked unsaved, so that the Refresh with the new list writes it once
// rather than twice. A nil current is always true.
func BuildIndexIf(ctx context.Context, root string, files []string, opts Options, current func() bool) (*Index, error) {
	began := time.Now()
	opts = opts.withDefaults()
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("analysis: root %q: %w", root, err)
	}
	// Sources are read through the root: only regular files, without
	// blocking on a FIFO, never outside it, never more than MaxFileSize.
	fsys, err := beneath.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("analysis: root %q: %w", root, err)
	}
	ix := &Index{root: abs, fsys: fsys, opts: opts}

	// The cache is decoded while the files are stated: neither needs the
	// other until they are compared.
	var cached map[string]*FileEntry
	loaded := make(chan struct{})
	if opts.NoCache {
		close(loaded)
	} else {
		cachePath := cacheFile(abs, opts)
		ix.stats.CachePath = cachePath
		go func() {
			defer close(loaded)
			if cachePath == "" {
				return
			}
			var err error
			cached, err = loadCache(cachePath, abs, opts)
			switch {
			case err == nil:
				ix.stats.CacheLoaded = true
			case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errCacheStale):
				ix.stats.CacheError = err.Error()
			}
		}()
	}
	wait := func() map[string]*FileEntry { <-loaded; return cached }
	if err := ix.fill(ctx, candidatePaths(files), wait, ix.stats.CachePath, false, current); err != nil {
		<-loaded
		return nil, err
	}
	ix.stats.Duration = time.Since(began)
	return ix, nil
}

// fill indexes paths (as candidatePaths returns them) into ix, reusing the
// entries of the cache (what cached returns, once the files are stated)
// whose size and modification time are unchanged, and saves the cache at
// cachePath ("" for none) when the entries differ from the cache's or
// unsaved says the cache itself was never saved, and current (nil: always)
// says paths is still the whole list (BuildIndexIf).
func (ix *Index) fill(ctx context.Context, paths []string, cached func() map[string]*FileEntry, cachePath string, unsaved bool, current func() bool) error {
	entries, reused, parsed, n, err := ix.read(ctx, paths, cached)
	// keep says whether to write the cache, asked only when it would be.
	keep := func() bool {
		if current != nil && !current() {
			ix.unsaved = true
			return false
		}
		return true
	}
	if err != nil {
		// Cancelled midway: what was parsed is saved all the same, so the
		// next build resumes where this one stopped.
		if entries != nil && parsed > 0 && cachePath != "" && keep() {
			ix.finish(entries, reused)
			decodeBodies(ix.all, ix.opts.Workers)
			_ = saveCache(cachePath, ix.root, ix.opts, ix.all)
		}
		return err
	}
	ix.finish(entries, reused)
	if cachePath != "" && (unsaved || parsed > 0 || n != len(ix.all)) && keep() {
		decodeBodies(ix.all, ix.opts.Workers)
		if err := saveCache(cachePath, ix.root, ix.opts, ix.all); err != nil {
			ix.stats.CacheError = err.Error()
			ix.unsaved = true
		} else {
			ix.stats.CacheSaved = true
		}
	}
	return nil
}

// read stats paths and parses those that the cache (what cached returns)
// has no unchanged entry for. An entry is nil where the file is missing,
// not regular or unreadable; reused says which came from the cache; parsed
// counts the others; n is the size of the cache.
func (ix *Index) read(ctx context.Context, paths []string, cached func() map[string]*FileEntry) (entries []*FileEntry, reused []bool, parsed, n int, err error) {
	stamps := make([]beneath.Stamp, len(paths))
	err = parallel(ctx, ix.opts.Workers, len(paths), func(_ int, next func() (int, bool)) {
		for i, ok := next(); ok; i, ok = next() {
			if st, err := ix.fsys.Stamp(paths[i]); err == nil && st.Mode.IsRegular() {
				stamps[i] = st
			} else {
				stamps[i].Mode = fs.ModeIrregular
			}
		}
	})
	c := cached()
	if err != nil {
		return nil, nil, 0, 0, err
	}
	n = len(c)
	entries = make([]*FileEntry, len(paths))
	reused = make([]bool, len(paths))
	var todo []int
	for i, st := range stamps {
		if !st.Mode.IsRegular() {
			continue
		}
		if e := c[paths[i]]; e != nil && e.Size == st.Size && e.ModTime == st.ModTime {
			entries[i], reused[i] = e, true
			continue
		}
		entries[i] = &FileEntry{Path: paths[i], Size: st.Size, ModTime: st.ModTime}
		todo = append(todo, i)
	}
	var mu sync.Mutex

	// Largest first, so no big file is left to run alone at the end.
	sort.Slice(todo, func(a, b int) bool { return entries[todo[a]].Size > entries[todo[b]].Size })
	var workerErr error
	done := make([]bool, len(todo))
	err = parallel(ctx, ix.opts.Workers, len(todo), func(_ int, next func() (int, bool)) {
		w, err := newIndexWorker(ix.opts)
		if err != nil {
			mu.Lock()
			workerErr = err
			mu.Unlock()
			return
		}
		defer w.close()
		for j, ok := next(); ok; j, ok = next() {
			if !w.index(ctx, ix.fsys, entries[todo[j]]) {
				entries[todo[j]] = nil
			}
			done[j] = true
		}
	})
	if err == nil {
		err = workerErr
	}
	if err != nil {
		// What was parsed, and what was reused, for a cancelled build to
		// save; the files not reached are left out.
		parsed := 0
		for j, i := range todo {
			if done[j] {
				parsed++
			} else {
				entries[i] = nil
			}
		}
		return entries, reused, parsed, n, err
	}
	return entries, reused, len(todo), n, nil
}

// finish keeps entries (sorted by path; nil ones dropped) as the index's
// files and counts them into its stats.
func (ix *Index) finish(entries []*FileEntry, reused []bool) {
	// all keeps unsupported extensionless files too, so the cache spares
	// the next run from reading them again.
	ix.all = make([]*FileEntry, 0, len(entries))
	ix.files = make([]*FileEntry, 0, len(entries))
	for i, e := range entries {
		if e == nil {
			continue
		}
		ix.all = append(ix.all, e)
		if e.Language == "" {
			continue
		}
		ix.files = append(ix.files, e)
		if reused[i] {
			ix.stats.Reused++
		} else {
			ix.stats.Parsed++
		}
		if e.Skipped != "" {
			ix.stats.Skipped++
		}
		ix.stats.Symbols += e.nsyms
	}
	ix.stats.Files = len(ix.files)
}

// candidatePaths normalises, dedupes and sorts the caller's list, keeping
// supported extensions and extensionless files (which may have a shebang).
func candidatePaths(files []string) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		f = filepath.ToSlash(filepath.Clean(f))
		if _, ok := LanguageForPath(f); ok || filepath.Ext(f) == "" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// parallel runs n items on workers goroutines; each gets a next() that hands
// out item indices until they run out or ctx is done.
func parallel(ctx context.Context, workers, n int, fn func(worker int, next func() (int, bool))) error {
	if n == 0 {
		return ctx.Err()
	}
	workers = min(workers, n)
	var counter atomic.Int64
	next := func() (int, bool) {
		if ctx.Err() != nil {
			return 0, false
		}
		i := int(counter.Add(1) - 1)
		return i, i < n
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, next)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// indexWorker owns one parser and its scratch space; parsers are not safe
// for concurrent use.
type indexWorker struct {
	opts   Options
	arena  *parseArena
	x      extractor
	counts map[string]int // name -> index in countNames' result
	names  []NameCount    // countNames' scratch
	buf    []byte
	lines  lineIndex
}

func newIndexWorker(opts Options) (*indexWorker, error) {
	a, err := newParseArena(arenaLimit)
	if err != nil {
		return nil, err
	}
	return &indexWorker{opts: opts, arena: a, counts: map[string]int{}}, nil
}

func (w *indexWorker) close() { w.arena.close() }

// index fills e from the file on disk; false means it could not be read.
// Extensionless files without a known shebang get Language "".
func (w *indexWorker) index(ctx context.Context, fsys *beneath.Root, e *FileEntry) bool {
	name, ok := LanguageForPath(e.Path)
	if ok && e.Size > w.opts.MaxFileSize {
		e.Language, e.Skipped = name, "too large"
		return true
	}
	src, err := fsys.ReadFileInto(e.Path, w.opts.MaxFileSize, w.buf)
	var tooLarge *beneath.TooLargeError
	if errors.As(err, &tooLarge) {
		e.Language, e.Skipped = name, "too large"
		return true
	}
	if err != nil {
		return false
	}
	w.buf = src[:0] // the next file reuses the storage
	if !ok {
		if name = languageFromShebang(src); name == "" {
			e.Skipped = "unsupported"
			return true
		}
		if int64(len(src)) > w.opts.MaxFileSize {
			e.Language, e.Skipped = name, "too large"
			return true
		}
	}
	e.Language = name
	if reason := unindexable(src, w.opts.MaxLineLength); reason != "" {
		e.Skipped = reason
		return true
	}
	cl, err := compiled(name)
	if err != nil {
		e.Skipped = err.Error()
		return true
	}
	var res fileResult
	err = w.arena.parseWalk(cl, src, w.opts.ParseTimeout, cl.want, cl.skip, false, func(recs []walkRec) {
		w.lines = appendLineIndex(w.lines, src)
		res = extract(&w.x, cl, recs, src, w.lines, true)
	})
	if err != nil {
		e.Skipped = err.Error()
		return true
	}
	e.Symbols, e.nsyms = res.symbols, len(res.symbols)
	e.Refs = w.countNames(src, res.refs)
	return true
}

func (w *indexWorker) countNames(src []byte, refs []rawRef) []NameCount {
	clear(w.counts)
	out := w.names[:0]
	for _, r := range refs {
		// A lookup with string(bytes) does not allocate; only new names do.
		i, ok := w.counts[string(src[r.start:r.end])]
		if !ok {
			name := string(src[r.start:r.end])
			i = len(out)
			w.counts[name] = i
			out = append(out, NameCount{Name: name})
		}
		out[i].Count++
		if r.kind == RefPackage {
			out[i].Package++
		}
	}
	w.names = out
	slices.SortFunc(out, func(a, b NameCount) int { return strings.Compare(a.Name, b.Name) })
	return slices.Clone(out) // exact size: the index keeps it
}

// unindexable recognises content not worth parsing: binary data and
// minified or generated one-line bundles.
func unindexable(src []byte, maxLine int) string {
	head := src[:min(len(src), 8000)]
	if bytes.IndexByte(head, 0) >= 0 {
		return "binary"
	}
	for rest := src; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest)
		}
		if i > maxLine {
			return "minified"
		}
		rest = rest[min(i+1, len(rest)):]
	}
	return ""
}

// MatchMode selects how Definitions compares names.
type MatchMode int

const (
	MatchExact MatchMode = iota
	MatchIgnoreCase
	MatchFuzzy // the query's characters in order, ranked by a closeness score
)

// Definition is a symbol with the file it is in.
type Definition struct {
	Path string `json:"path"`
	Symbol
}

// nameMap returns the map from exact names (or, with lower, lower-cased
// names) to the symbols defining them, built on first use.
func (ix *Index) nameMap(lower bool) map[string][]symRef {
	ix.materialize()
	once, m := &ix.exactOnce, &ix.exact
	if lower {
		once, m = &ix.lowerOnce, &ix.lower
	}
	once.Do(func() {
		*m = map[string][]symRef{}
		for fi, f := range ix.files {
			for si := range f.Symbols {
				name := f.Symbols[si].Name
				if lower {
					name = strings.ToLower(name)
				}
				(*m)[name] = append((*m)[name], symRef{int32(fi), int32(si)})
			}
		}
	})
	return *m
}

func (ix *Index) definition(r symRef) Definition {
	f := ix.files[r.file]
	return Definition{Path: f.Path, Symbol: f.Symbols[r.sym]}
}

// Definitions finds where name is defined. Results are ordered by path and
// position for exact and case-insensitive matches, by score for fuzzy ones;
// limit <= 0 means no limit.
func (ix *Index) Definitions(name string, mode MatchMode, limit int) []Definition {
	var refs []symRef
	switch mode {
	case MatchExact:
		refs = ix.nameMap(false)[name]
	case MatchIgnoreCase:
		refs = ix.nameMap(true)[strings.ToLower(name)]
	case MatchFuzzy:
		return ix.fuzzy(name, limit)
	}
	if limit > 0 && len(refs) > limit {
		refs = refs[:limit]
	}
	out := make([]Definition, len(refs))
	for i, r := range refs {
		out[i] = ix.definition(r)
	}
	return out
}

// fuzzyMatch is a symbol a fuzzy query matched, with its score and its
// lower-cased name, which orders equal scores.
type fuzzyMatch struct {
	score int
	lower string
	ref   symRef
}

// before orders matches best first: higher score, then by lower-cased
// name, path and position.
func (a fuzzyMatch) before(b fuzzyMatch) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.lower != b.lower {
		return a.lower < b.lower
	}
	if a.ref.file != b.ref.file {
		return a.ref.file < b.ref.file
	}
	return a.ref.sym < b.ref.sym
}

// worstFirst is a heap of the best matches so far, the worst on top, for
// keeping the best limit of many.
type worstFirst []fuzzyMatch

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return h[j].before(h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(fuzzyMatch)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fuzzy scores every symbol's name against the query, case-insensitively,
// in one pass over the symbols: no table of names is built, which on a big
// repository costs more than many queries (an editor's first
// workspace/symbol waits for it).
//
// An index whose cached bodies are not decoded yet (a warm build's) is
// searched in the cache's bodies in place, and only the files that hold the
// best matches are decoded: an editor's first query on a big repository
// does not wait for, nor keep, every symbol decoded.
func (ix *Index) fuzzy(query string, limit int) []Definition {
	q := strings.ToLower(query)
	var best worstFirst
	consider := func(fi, si int, name string) {
		score, ok := fuzzyScoreFold(q, name)
		if !ok {
			return
		}
		m := fuzzyMatch{score: score, ref: symRef{int32(fi), int32(si)}}
		if limit > 0 && len(best) == limit {
			// Most candidates lose to the worst kept on score alone,
			// before their name is lower-cased.
			if w := best[0]; score < w.score {
				return
			}
			if m.lower = strings.ToLower(name); !m.before(best[0]) {
				return
			}
			best[0] = m
			heap.Fix(&best, 0)
			return
		}
		m.lower = strings.ToLower(name)
		if limit > 0 {
			heap.Push(&best, m)
		} else {
			best = append(best, m)
		}
	}
	if !ix.decoded.Load() {
		ix.decoding.Lock()
		defer ix.decoding.Unlock()
	}
	var buf []Brief
	for fi, f := range ix.files {
		if f.lazy != nil {
			var err error
			if buf, err = f.lazy.brief(buf[:0]); err != nil {
				continue
			}
			for si, b := range buf {
				consider(fi, si, b.Name)
			}
			continue
		}
		for si := range f.Symbols {
			consider(fi, si, f.Symbols[si].Name)
		}
	}
	slices.SortFunc(best, func(a, b fuzzyMatch) int {
		if a.before(b) {
			return -1
		}
		if b.before(a) {
			return 1
		}
		return 0
	})
	out := make([]Definition, 0, len(best))
	for _, m := range best {
		f := ix.files[m.ref.file]
		if f.lazy != nil {
			// Under the lock: nobody else decodes or reads lazy entries.
			if err := f.lazy.decodeAlone(f); err != nil {
				f.Skipped = "cache: " + err.Error()
			}
			f.lazy = nil
		}
		if int(m.ref.sym) < len(f.Symbols) {
			out = append(out, ix.definition(m.ref))
		}
	}
	return out
}

// fuzzyScore matches q's bytes in order within name (both lower-case).
// Consecutive runs and a match at the start score higher; extra length
// costs a little, so the closest names come first.
func fuzzyScore(q, name string) (int, bool) { return scoreInOrder(q, name, false) }

// fuzzyScoreFold is fuzzyScore(q, strings.ToLower(name)) without
// allocating a lower-cased copy of an ASCII name.
func fuzzyScoreFold(q, name string) (int, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return fuzzyScore(q, strings.ToLower(name))
		}
	}
	return scoreInOrder(q, name, true)
}

// scoreInOrder is fuzzyScore, lower-casing name's ASCII bytes as it reads
// them when fold is set.
func scoreInOrder(q, name string, fold bool) (int, bool) {
	if q == "" {
		return 0, true
	}
	score, qi, run := 0, 0, 0
	for i := 0; i < len(name) && qi < len(q); i++ {
		c := name[i]
		if fold {
			c = lowerByte(c)
		}
		if c != q[qi] {
			run = 0
			continue
		}
		run++
		score += 1 + 2*run
		if i == 0 {
			score += 8
		} else if c := name[i-1]; c == '_' || c == '.' || c == '-' {
			score += 4
		}
		qi++
	}
	if qi < len(q) {
		return 0, false
	}
	if len(name) == len(q) {
		// Every byte of q matched one of name's, in order: they are equal.
		score += 100
	}
	return score - (len(name) - len(q)), true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// References finds the occurrences of name across the workspace. Only the
// files whose cached identifier sets contain the name are re-read and
// parsed, in parallel.
func (ix *Index) References(ctx context.Context, name string) ([]Reference, error) {
	ix.materialize()
	var candidates []*FileEntry
	for _, f := range ix.files {
		i := sort.Search(len(f.Refs), func(i int) bool { return f.Refs[i].Name >= name })
		if i < len(f.Refs) && f.Refs[i].Name == name {
			candidates = append(candidates, f)
		}
	}
	results := make([][]Reference, len(candidates))
	err := parallel(ctx, ix.opts.Workers, len(candidates), func(_ int, next func() (int, bool)) {
		for i, ok := next(); ok; i, ok = next() {
			f := candidates[i]
			src, err := ix.fsys.ReadFile(f.Path, ix.opts.MaxFileSize)
			if err != nil {
				continue
			}
			refs, err := FindReferences(ctx, f.Path, src, name)
			if err != nil {
				continue
			}
			results[i] = refs
		}
	})
	if err != nil {
		return nil, err
	}
	var out []Reference
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}
