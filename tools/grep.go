package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/loom-agent/loom/workspace"
)

const (
	grepDefaultMax = 200
	grepMaxContext = 20
	// grepMaxLineLen keeps one minified line from filling a model's context.
	grepMaxLineLen = 2000
	// grepMaxPattern bounds a pattern: compiling megabytes of regular
	// expression costs gigabytes, and no search needs more than this.
	grepMaxPattern = 64 << 10
)

// Grep searches file contents with a regular expression, in parallel.
type Grep struct{}

type grepArgs struct {
	Pattern    string `json:"pattern"`
	Path       string `json:"path,omitempty"`
	Glob       string `json:"glob,omitempty"`
	IgnoreCase bool   `json:"ignore_case,omitempty"`
	Context    int    `json:"context,omitempty"`
	MaxResults int    `json:"max_results,omitempty"`
}

// GrepMatch is one matching line.
type GrepMatch struct {
	Path string `json:"path"` // workspace-relative
	Line int    `json:"line"` // 1-based
	Text string `json:"text"` // the line, without its newline (long lines shortened)
}

// GrepData is grep's structured result.
type GrepData struct {
	Matches []GrepMatch `json:"matches"`
	// Total counts every matching line, also those not listed.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated"`
}

func (Grep) Spec() Spec {
	return Spec{
		Name: "grep",
		Description: "Search file contents with a regular expression (RE2 syntax, as in Go and ripgrep: no backreferences or lookaround) " +
			"and list matching lines as `path:line:text`, sorted by path (folder by folder) and line; paths are relative to the workspace root. " +
			"A pattern matches within one line; `^` and `$` anchor at line starts and ends. " +
			"Escape metacharacters to search for them literally, e.g. `foo\\(` or `a\\.b`. " +
			"Searches the workspace root or `path` (a folder or file), skipping .git, files ignored by .gitignore, binary files and files over 16 MB; " +
			"sees unsaved editor buffers and this session's staged edits. " +
			"`glob` keeps only matching files: `*.go` matches file names at any depth, `cmd/**/*.go` matches paths relative to `path`. " +
			"`context` adds that many lines before and after each match (shown as `path-line-text`, groups separated by `--`). " +
			"Lines longer than 2000 bytes are shortened. " +
			"At most max_results (default 200) matching lines are shown; past that a closing note gives the total, and narrowing the pattern, path or glob helps.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"pattern":{"type":"string","minLength":1,"maxLength":65536,"description":"RE2 regular expression, e.g. func \\w+Handler or TODO"},
"path":{"type":"string","description":"folder or file to search, relative to the workspace root (default: the root)"},
"glob":{"type":"string","description":"only search files matching this glob, e.g. *.go or src/**/*.ts"},
"ignore_case":{"type":"boolean","description":"match letters regardless of case (default false)"},
"context":{"type":"integer","minimum":0,"maximum":20,"description":"lines of context before and after each match (default 0)"},
"max_results":{"type":"integer","minimum":1,"maximum":100000,"description":"most matching lines to show (default 200)"}},
"required":["pattern"],"additionalProperties":false}`),
		Effect:     EffectSearch,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

func (Grep) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a grepArgs
	if err := decodeArgs("grep", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("grep", "pattern", a.Pattern); err != nil {
		return Result{}, err
	}
	if a.Context < 0 || a.MaxResults < 0 {
		return Result{}, errors.New("invalid arguments for grep: context and max_results must not be negative")
	}
	m, err := newGrepMatcher(a.Pattern, a.IgnoreCase)
	if err != nil {
		return Result{}, err
	}
	ws := env.Workspace()
	base, err := ws.Resolve(a.Path)
	if err != nil {
		return Result{}, err
	}
	var filter *globFilter
	if a.Glob != "" {
		if filter, err = newGlobFilter("grep", a.Glob, base, true); err != nil {
			return Result{}, err
		}
	}
	s := &grepSearch{
		ws:      ws,
		cs:      env.Changes,
		staged:  env.Changes.Staged(),
		m:       m,
		context: min(a.Context, grepMaxContext),
		keep:    a.MaxResults,
	}
	if s.keep == 0 {
		s.keep = grepDefaultMax
	}
	files, err := s.run(ctx, base, filter)
	if err != nil {
		return Result{}, err
	}
	return s.result(files, a.Pattern, base), nil
}

// grepSearch is one grep call: the walk feeds paths to workers that read
// and search files in parallel, each formatting its own file's lines.
type grepSearch struct {
	ws      *workspace.Workspace
	cs      *workspace.Changeset
	staged  map[string]bool
	m       *grepMatcher
	context int
	keep    int // matches formatted per file: no file shows more than the cap

	// Files are numbered in walk order, which is the output's order. Once
	// the files up to number cutoff hold keep matches, later files are
	// only counted, not formatted: a capped search of a large tree then
	// costs no more memory than the lines it shows.
	cutoff atomic.Int64
	mu     sync.Mutex
	done   map[int]int // finished files past next: number -> matches
	next   int         // lowest file number not yet finished
	before int         // matches in the files before next

	tooBig  []string
	results []*grepFile
}

// grepPath is a file to search and its number in walk order.
type grepPath struct {
	seq int
	rel string
}

// grepFile is one file's matches, formatted by the worker that searched it.
type grepFile struct {
	path  string
	count int    // every matching line
	out   []byte // output lines of the first s.keep matches with their context
	marks []grepMark
}

// grepMark locates one formatted match in its file's out.
type grepMark struct {
	line         int
	text, endTxt int // the line's text
	cut          int // out[:cut] is this match and those before it, with context
}

// grepHit is a matching line found in a buffer.
type grepHit struct {
	line, start, end int // end excludes the newline
}

func (s *grepSearch) run(ctx context.Context, base string, filter *globFilter) ([]*grepFile, error) {
	s.cutoff.Store(math.MaxInt64)
	s.done = map[int]int{}
	// Paths travel in batches: one channel operation per file would wake
	// a worker per file and keep the scheduler busier than the search.
	const batch = 64
	paths := make(chan []grepPath, 16)
	var walkErr error
	go func() {
		defer close(paths)
		seq := 0
		next := make([]grepPath, 0, batch)
		walkErr = s.cs.Walk(ctx, base, func(rel string, isDir bool) error {
			if isDir {
				if filter != nil && filter.skipDir(rel) {
					return workspace.SkipDir
				}
				return nil
			}
			if filter != nil && !filter.match(rel) {
				return nil
			}
			next = append(next, grepPath{seq, rel})
			seq++
			if len(next) < batch {
				return nil
			}
			select {
			case paths <- next:
				next = make([]grepPath, 0, batch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if len(next) > 0 && walkErr == nil {
			paths <- next
		}
	}()
	var wg sync.WaitGroup
	for range max(runtime.NumCPU(), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, paths)
		}()
	}
	wg.Wait()
	if walkErr != nil {
		return nil, walkErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files := s.results
	slices.SortFunc(files, func(a, b *grepFile) int { return comparePaths(a.path, b.path) })
	return files, nil
}

// work searches files until the walk is done. Each worker reuses one read
// buffer and one hit list, so a file costs no allocation unless it matches.
func (s *grepSearch) work(ctx context.Context, paths <-chan []grepPath) {
	var buf []byte
	var hits []grepHit
	var found []*grepFile
	var tooBig []string
	for batch := range paths {
		for _, p := range batch {
			if ctx.Err() != nil {
				break // drain so the walk can finish
			}
			count := 0
			data, big := s.read(p.rel, &buf)
			switch {
			case big:
				tooBig = append(tooBig, p.rel)
			case data == nil || workspace.IsBinary(data):
			default:
				hits, count = s.search(data, hits[:0])
			}
			if count > 0 {
				// Staged files come last in the walk but not in the output;
				// they are few, so they are always formatted.
				if _, staged := s.staged[p.rel]; staged || int64(p.seq) <= s.cutoff.Load() {
					found = append(found, s.format(p.rel, data, hits, count))
				} else {
					found = append(found, &grepFile{path: p.rel, count: count})
				}
			}
			s.finished(p.seq, count)
		}
	}
	s.mu.Lock()
	s.results = append(s.results, found...)
	s.tooBig = append(s.tooBig, tooBig...)
	s.mu.Unlock()
}

// finished records that file seq holds count matches and moves the cutoff
// to the first file by which the files before it hold enough.
func (s *grepSearch) finished(seq, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[seq] = count
	for {
		n, ok := s.done[s.next]
		if !ok {
			return
		}
		delete(s.done, s.next)
		s.before += n
		if s.before >= s.keep && s.cutoff.Load() == math.MaxInt64 {
			s.cutoff.Store(int64(s.next))
		}
		s.next++
	}
}

// comparePaths orders paths folder by folder, as the walk visits them and
// ripgrep --sort path prints them: "a/b/c.go" before "a/b.go".
func comparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x == y:
			continue
		case x == '/':
			return -1
		case y == '/':
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	return len(a) - len(b)
}

// read returns a file's content as the changeset sees it. Staged and
// buffered files go through the workspace; the rest, nearly all, are read
// straight from disk into buf. nil means unreadable or not a regular file.
func (s *grepSearch) read(rel string, buf *[]byte) (data []byte, tooBig bool) {
	if _, ok := s.staged[rel]; ok {
		b, err := s.cs.ReadFile(rel)
		if err != nil {
			return nil, false
		}
		return b, len(b) > workspace.MaxFileSize
	}
	if b, ok := s.ws.Buffer(rel); ok {
		return b, len(b) > workspace.MaxFileSize
	}
	return s.readDisk(rel, buf)
}

// readDisk reads a file into buf (kept for the next file when it grew).
// A folder, FIFO, device or unreadable file is nil; a text file over the
// limit is reported as skipped, a binary one as silently as a small one.
func (s *grepSearch) readDisk(rel string, buf *[]byte) (data []byte, tooBig bool) {
	b, err := s.ws.ReadDiskInto(rel, *buf)
	if err != nil {
		var big *workspace.TooLargeError
		return nil, errors.As(err, &big) && !s.ws.IsBinaryOnDisk(rel)
	}
	*buf = b[:0]
	return b, false
}

// search finds the matching lines of data, appending up to s.keep of them
// to hits, and counts them all. The matcher runs over the whole buffer;
// line boundaries are only looked for around matches.
func (s *grepSearch) search(data []byte, hits []grepHit) ([]grepHit, int) {
	count, line, counted := 0, 1, 0
	for pos := 0; pos < len(data); {
		start, end := s.m.find(data[pos:])
		if start < 0 {
			break
		}
		start, end = start+pos, end+pos
		ls := pos + bytes.LastIndexByte(data[pos:start], '\n') + 1
		le := bytes.IndexByte(data[start:], '\n')
		if le < 0 {
			le = len(data)
		} else {
			le += start
		}
		next := le + 1
		// A match may run past the line's end (\s or [^x] take newlines);
		// the line counts only if it matches on its own.
		if end > le && !s.m.re.Match(data[ls:le]) {
			pos = next
			continue
		}
		line += bytes.Count(data[counted:ls], []byte{'\n'})
		counted = ls
		count++
		if len(hits) < s.keep {
			hits = append(hits, grepHit{line: line, start: ls, end: le})
		}
		pos = next
	}
	return hits, count
}

// format writes a file's first hits as output lines, with context.
func (s *grepSearch) format(rel string, data []byte, hits []grepHit, count int) *grepFile {
	f := &grepFile{path: rel, count: count, marks: make([]grepMark, 0, len(hits))}
	size := 0
	for _, h := range hits {
		size += len(rel) + 12 + min(h.end-h.start, grepMaxLineLen+32)
	}
	f.out = make([]byte, 0, size*(1+min(s.context, 2)))
	if s.context == 0 {
		for _, h := range hits {
			f.writeMatch(data, h)
			f.marks[len(f.marks)-1].cut = len(f.out)
		}
		return f
	}
	last, lastEnd := 0, 0 // last line written and where the line after it starts
	for i, h := range hits {
		if i > 0 {
			last, lastEnd = f.writeAfter(data, last, lastEnd, min(hits[i-1].line+s.context, h.line-1))
			f.marks[i-1].cut = len(f.out)
		}
		first := max(h.line-s.context, last+1)
		if last > 0 && first > last+1 {
			f.out = append(f.out, "--\n"...)
		}
		p := h.start
		for range h.line - first {
			p = bytes.LastIndexByte(data[:p-1], '\n') + 1
		}
		for n := first; n < h.line; n++ {
			e := p + bytes.IndexByte(data[p:], '\n')
			f.writeLine('-', n, data[p:e])
			p = e + 1
		}
		f.writeMatch(data, h)
		last, lastEnd = h.line, h.end+1
	}
	f.writeAfter(data, last, lastEnd, last+s.context)
	f.marks[len(f.marks)-1].cut = len(f.out)
	return f
}

// writeAfter writes context lines last+1..upto, starting at byte p, and
// returns the last line written and where the next one starts.
func (f *grepFile) writeAfter(data []byte, last, p, upto int) (int, int) {
	for ; last < upto && p < len(data); last++ {
		e := bytes.IndexByte(data[p:], '\n')
		if e < 0 {
			e = len(data)
		} else {
			e += p
		}
		f.writeLine('-', last+1, data[p:e])
		p = e + 1
	}
	return last, p
}

func (f *grepFile) writeMatch(data []byte, h grepHit) {
	text := f.writeLine(':', h.line, data[h.start:h.end])
	f.marks = append(f.marks, grepMark{line: h.line, text: text, endTxt: len(f.out) - 1})
}

// writeLine appends "path<sep>line<sep>text\n" and returns where text starts.
func (f *grepFile) writeLine(sep byte, n int, text []byte) int {
	f.out = append(f.out, f.path...)
	f.out = append(f.out, sep)
	f.out = strconv.AppendInt(f.out, int64(n), 10)
	f.out = append(f.out, sep)
	start := len(f.out)
	text = bytes.TrimSuffix(text, []byte{'\r'})
	if len(text) > grepMaxLineLen {
		cut := grepMaxLineLen
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		f.out = append(f.out, text[:cut]...)
		f.out = fmt.Appendf(f.out, " … (line truncated, %d bytes)", len(text))
	} else {
		f.out = append(f.out, text...)
	}
	f.out = append(f.out, '\n')
	return start
}

// result joins the files' lines in path order up to the cap. The matches
// in Data share the text's memory rather than copying every line.
func (s *grepSearch) result(files []*grepFile, pattern, base string) Result {
	total, size := 0, 0
	for _, f := range files {
		total += f.count
		size += len(f.out) + 3
	}
	var b strings.Builder
	b.Grow(size + 256)
	// First the text, remembering where each file's lines went; then the
	// matches, whose text points into it.
	offs := make([]int, 0, len(files))
	shown := 0
	for _, f := range files {
		k := min(len(f.marks), s.keep-shown)
		if k <= 0 {
			break
		}
		if s.context > 0 && b.Len() > 0 {
			b.WriteString("--\n")
		}
		offs = append(offs, b.Len())
		b.Write(f.out[:f.marks[k-1].cut])
		shown += k
	}
	// Notes go into the same builder: appending to the finished string
	// would copy it while the matches still point into the original.
	switch {
	case total == 0:
		fmt.Fprintf(&b, "No matches for %s under %s.\n", QuoteArg(pattern), displayDir(base))
	case shown < total:
		fmt.Fprintf(&b, "(showing the first %d of %d matches; narrow the pattern, path or glob)\n", shown, total)
	}
	if n := len(s.tooBig); n > 0 {
		sort.Strings(s.tooBig)
		fmt.Fprintf(&b, "(skipped %d file(s) over the %d MB limit: %s)\n", n, workspace.MaxFileSize>>20, strings.Join(s.tooBig[:min(n, 5)], ", "))
	}
	text := b.String()
	data := GrepData{Matches: make([]GrepMatch, 0, shown), Total: total, Truncated: shown < total}
	for i, off := range offs {
		f := files[i]
		for _, mk := range f.marks[:min(len(f.marks), shown-len(data.Matches))] {
			data.Matches = append(data.Matches, GrepMatch{Path: f.path, Line: mk.line, Text: text[off+mk.text : off+mk.endTxt]})
		}
	}
	return Result{Text: text, Data: data}
}

// grepMatcher finds the leftmost match in a buffer. Plain words skip the
// regexp engine: bytes.Index for exact case, a scan for one rare byte in
// either case for ignore_case.
type grepMatcher struct {
	re   *regexp.Regexp // always set: it judges matches that run past a line
	lit  []byte
	fold *foldFinder
}

func newGrepMatcher(pattern string, ignoreCase bool) (*grepMatcher, error) {
	if len(pattern) > grepMaxPattern {
		return nil, fmt.Errorf("invalid arguments for grep: the pattern is %d bytes long, over the %d KB limit", len(pattern), grepMaxPattern>>10)
	}
	// Compiled alone first so that an error quotes the pattern as given.
	plain, err := regexp.Compile(pattern)
	if err != nil {
		// The parser's message quotes the offending part, which may be
		// the whole pattern: quote each at most once, shortened.
		why := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			why = string(se.Code)
			if se.Expr != pattern {
				why += ": " + QuoteArg(se.Expr)
			}
		}
		return nil, fmt.Errorf("invalid arguments for grep: pattern %s is not a valid RE2 regular expression: %s", QuoteArg(pattern), why)
	}
	flags := "(?m)"
	if ignoreCase {
		flags = "(?mi)"
	}
	m := &grepMatcher{re: regexp.MustCompile(flags + pattern)}
	prefix, complete := plain.LiteralPrefix()
	switch {
	case !complete || prefix == "":
	case !ignoreCase:
		m.lit = []byte(prefix)
	case isASCII(prefix):
		m.fold = newFoldFinder(prefix)
	}
	return m, nil
}

// find returns the leftmost match in b, or -1, -1.
func (m *grepMatcher) find(b []byte) (int, int) {
	switch {
	case m.lit != nil:
		if i := bytes.Index(b, m.lit); i >= 0 {
			return i, i + len(m.lit)
		}
	case m.fold != nil:
		if i := m.fold.index(b); i >= 0 {
			return i, i + len(m.fold.lit)
		}
	default:
		if loc := m.re.FindIndex(b); loc != nil {
			return loc[0], loc[1]
		}
	}
	return -1, -1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldFinder finds an ASCII word regardless of case. It scans for the
// word's rarest byte (both cases of it) with IndexByte and checks the
// word around each hit. Unlike (?i), it does not let k and s match the
// Kelvin and long-s signs, which code hardly ever holds.
type foldFinder struct {
	lit    []byte // lower case
	k      int    // offset of the scanned byte
	c1, c2 byte   // its two cases (equal for a non-letter)
}

func newFoldFinder(word string) *foldFinder {
	f := &foldFinder{lit: []byte(strings.ToLower(word))}
	best := 1 << 30
	for i, c := range f.lit {
		if r := byteRank(c); r < best {
			best, f.k = r, i
		}
	}
	f.c1, f.c2 = f.lit[f.k], f.lit[f.k]
	if 'a' <= f.c1 && f.c1 <= 'z' {
		f.c2 = f.c1 - 'a' + 'A'
	}
	return f
}

func (f *foldFinder) index(b []byte) int {
	n := len(f.lit)
	next1, next2 := -2, -2 // next position of each case at or after i; -2 stale, -1 none
	if f.c1 == f.c2 {
		next2 = -1
	}
	for i := f.k; ; {
		if next1 != -1 && next1 < i {
			next1 = indexFrom(b, i, f.c1)
		}
		if next2 != -1 && next2 < i {
			next2 = indexFrom(b, i, f.c2)
		}
		c := next1
		if c < 0 || (next2 >= 0 && next2 < c) {
			c = next2
		}
		if c < 0 {
			return -1
		}
		s := c - f.k
		if s+n > len(b) {
			return -1
		}
		if equalFoldLower(b[s:s+n], f.lit) {
			return s
		}
		i = c + 1
	}
}

func indexFrom(b []byte, i int, c byte) int {
	if i >= len(b) {
		return -1
	}
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// equalFoldLower compares b with the lower-case ASCII word lower.
func equalFoldLower(b, lower []byte) bool {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// byteRank guesses how common a byte is in source code (higher is more
// common, counting a letter's both cases), to pick the byte to scan for.
func byteRank(c byte) int {
	switch {
	case c == ' ' || c == '\t' || c == '\n':
		return 100
	case strings.IndexByte("etaoinsrlcd", c) >= 0:
		return 80
	case 'a' <= c && c <= 'z':
		return 60
	case strings.IndexByte("()._,;=\"'{}*/-:", c) >= 0:
		return 50
	case '0' <= c && c <= '9':
		return 40
	}
	return 10
}

// Title says what one call does, for front ends to show.
func (Grep) Title(args json.RawMessage) string {
	a := titleArgs(args)
	return fmt.Sprintf("Search for %s in %s", quoteTitle(str(a, "pattern", "")), str(a, "path", "."))
}
