package analysis

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
)

// RepoMapOptions tune RepoMap.
type RepoMapOptions struct {
	// Focus lists root-relative files the user is working on; they
	// personalise the ranking, so they and what they use come first.
	Focus []string
	// MaxTokens is the budget for the map, estimated as characters/4;
	// 0 means 1024.
	MaxTokens int
}

// maxDefiners drops names defined in so many files that they say nothing
// about structure (String, Error, init) and would make the graph quadratic.
const maxDefiners = 64

// RepoMap renders the most important files and definitions within a token
// budget. Files are ranked with personalised PageRank over the graph where a
// file that uses a name points at the files that define it (as aider's repo
// map does); each definition then gets the rank flowing to it along its
// name's edges.
func (ix *Index) RepoMap(opts RepoMapOptions) string {
	ix.materialize()
	budget := opts.MaxTokens
	if budget <= 0 {
		budget = 1024
	}
	n := len(ix.files)
	if n == 0 {
		return ""
	}
	definers := map[string][]int32{}
	for fi, f := range ix.files {
		seen := map[string]bool{}
		for _, s := range f.Symbols {
			if !mapped(s) {
				continue
			}
			if !seen[s.Name] {
				seen[s.Name] = true
				definers[s.Name] = append(definers[s.Name], int32(fi))
			}
		}
	}

	// Tests use the code but are seldom what a map of it should show.
	testWeight := make([]float64, n)
	for i, f := range ix.files {
		testWeight[i] = 1
		if isTestPath(f.Path) {
			testWeight[i] = 0.1
		}
	}

	// forEachEdge yields every weighted (user file, defining file, name) triple.
	forEachEdge := func(fn func(from, to int32, name string, w float64)) {
		for fi, f := range ix.files {
			for _, r := range f.Refs {
				defs := definers[r.Name]
				if len(defs) == 0 || len(defs) > maxDefiners {
					continue
				}
				w := nameWeight(r.Name, len(defs)) * math.Sqrt(float64(r.Count))
				for _, to := range defs {
					if int(to) != fi {
						fn(int32(fi), to, r.Name, w*testWeight[to])
					}
				}
			}
		}
	}
	out := make([]float64, n)
	edges := make([]map[int32]float64, n)
	forEachEdge(func(from, to int32, _ string, w float64) {
		if edges[from] == nil {
			edges[from] = map[int32]float64{}
		}
		edges[from][to] += w
		out[from] += w
	})

	personal := make([]float64, n)
	focused := 0
	for _, p := range opts.Focus {
		if i := ix.fileIndex(p); i >= 0 {
			personal[i] = 1
			focused++
		}
	}
	if focused == 0 {
		for i := range personal {
			personal[i] = 1
		}
		focused = n
	}
	for i := range personal {
		personal[i] /= float64(focused)
	}
	rank := pageRank(edges, out, personal, 0.85, 50)

	// Spread each file's rank over its outgoing edges onto the names.
	type key struct {
		file int32
		name string
	}
	symRank := map[key]float64{}
	forEachEdge(func(from, to int32, name string, w float64) {
		symRank[key{to, name}] += rank[from] * w / out[from]
	})
	// A trickle for unreferenced definitions, so a generous budget still
	// shows them, in file-rank order.
	for fi, f := range ix.files {
		for _, s := range f.Symbols {
			if s.Parent < 0 && mapped(s) {
				symRank[key{int32(fi), s.Name}] += rank[fi] * 1e-6
			}
		}
	}
	type tag struct {
		key
		rank float64
	}
	tags := make([]tag, 0, len(symRank))
	for k, r := range symRank {
		tags = append(tags, tag{k, r})
	}
	sort.Slice(tags, func(a, b int) bool {
		if tags[a].rank != tags[b].rank {
			return tags[a].rank > tags[b].rank
		}
		if tags[a].file != tags[b].file {
			return ix.files[tags[a].file].Path < ix.files[tags[b].file].Path
		}
		return tags[a].name < tags[b].name
	})

	render := func(count int) string {
		type fileTags struct {
			file  int32
			best  int
			names map[string]bool
		}
		var order []*fileTags
		byFile := map[int32]*fileTags{}
		for i, t := range tags[:count] {
			ft := byFile[t.file]
			if ft == nil {
				ft = &fileTags{file: t.file, best: i, names: map[string]bool{}}
				byFile[t.file] = ft
				order = append(order, ft)
			}
			ft.names[t.name] = true
		}
		var b strings.Builder
		for _, ft := range order {
			f := ix.files[ft.file]
			fmt.Fprintf(&b, "%s:\n", f.Path)
			for _, s := range f.Symbols {
				if ft.names[s.Name] && mapped(s) {
					fmt.Fprintf(&b, "│ %s\n", s.Signature)
				}
			}
		}
		return b.String()
	}
	fits := func(s string) bool { return (len(s)+3)/4 <= budget }
	// The largest prefix of the ranking that fits, by binary search.
	lo, hi := 0, len(tags)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(render(mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return render(lo)
}

// isTestPath recognises test files by the conventions of the supported
// languages: foo_test.go, test_foo.py, foo.test.ts, foo_spec.rb, and files
// under test/, tests/, spec/ or __tests__/.
func isTestPath(p string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	stem := strings.TrimSuffix(base, base[strings.LastIndexByte(base, '.')+1:])
	switch {
	case strings.HasSuffix(stem, "_test."), strings.HasSuffix(stem, ".test."), strings.HasSuffix(stem, ".spec."),
		strings.HasSuffix(stem, "_spec."), strings.HasPrefix(base, "test_"), strings.HasSuffix(stem, "Test."):
		return true
	}
	for _, dir := range []string{"test/", "tests/", "spec/", "__tests__/", "testdata/"} {
		if strings.HasPrefix(p, dir) || strings.Contains(p, "/"+dir) {
			return true
		}
	}
	return false
}

// mapped reports whether a definition belongs in the map. Fields and enum
// members are left out: their names (Name, ID, t, err) are shared by
// countless unrelated uses, so as graph targets they drown the functions
// and types that give a codebase its shape.
func mapped(s Symbol) bool {
	return s.Kind != KindField && s.Kind != KindEnumMember
}

func (ix *Index) fileIndex(path string) int {
	path = strings.TrimPrefix(filepathToSlashClean(path), "./")
	i := sort.Search(len(ix.files), func(i int) bool { return ix.files[i].Path >= path })
	if i < len(ix.files) && ix.files[i].Path == path {
		return i
	}
	return -1
}

// nameWeight follows aider: distinctive names (long, compound) carry more
// signal; private and widely defined ones less.
func nameWeight(name string, definers int) float64 {
	w := 1.0
	if len(name) >= 8 && (strings.Contains(name, "_") || hasInnerUpper(name)) {
		w *= 10
	}
	if strings.HasPrefix(name, "_") {
		w *= 0.1
	}
	if definers > 5 {
		w *= 0.1
	}
	if len(name) < 3 { // i, t, ok, db: locals everywhere, rarely the thing defined
		w *= 0.1
	}
	return w
}

func hasInnerUpper(s string) bool {
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// pageRank computes personalised PageRank by power iteration. Rank of files
// with no outgoing edges returns to the personalisation vector.
func pageRank(edges []map[int32]float64, out, personal []float64, damping float64, iterations int) []float64 {
	n := len(personal)
	rank := append([]float64(nil), personal...)
	next := make([]float64, n)
	for range iterations {
		dangling := 0.0
		for i := range next {
			next[i] = 0
			if out[i] == 0 {
				dangling += rank[i]
			}
		}
		for from, es := range edges {
			if out[from] == 0 {
				continue
			}
			share := damping * rank[from] / out[from]
			for to, w := range es {
				next[to] += share * w
			}
		}
		delta := 0.0
		for i := range next {
			next[i] += (1-damping)*personal[i] + damping*dangling*personal[i]
			delta += math.Abs(next[i] - rank[i])
		}
		rank, next = next, rank
		if delta < 1e-9 {
			break
		}
	}
	return rank
}
