package analysis

import (
	"fmt"
	"math"
	"slices"
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
//
// A map is computed once per state of the index, focus and budget: the
// maps are kept beside the disk cache (mapcache.go), so a run that finds
// nothing changed reads its map back without decoding the index.
func (ix *Index) RepoMap(opts RepoMapOptions) string {
	budget := opts.MaxTokens
	if budget <= 0 {
		budget = 1024
	}
	key := ix.mapKey(opts, budget)
	if m, ok := ix.keptMap(key); ok {
		return m
	}
	m := ix.rankMap(opts, budget)
	ix.keepMap(key, m)
	return m
}

// rankMap computes the map RepoMap describes.
func (ix *Index) rankMap(opts RepoMapOptions, budget int) string {
	ix.materialize()
	n := len(ix.files)
	if n == 0 {
		return ""
	}
	// Every name a mapped definition has gets an ID; its definers are the
	// files defining it, in file order, and each (name, definer) pair has a
	// slot in symRank: slot[id]+k for the k-th definer.
	nameID := map[string]int32{}
	var definers [][]int32
	for fi, f := range ix.files {
		for _, s := range f.Symbols {
			if !mapped(s) {
				continue
			}
			id, ok := nameID[s.Name]
			if !ok {
				id = int32(len(definers))
				nameID[s.Name] = id
				definers = append(definers, nil)
			}
			if d := definers[id]; len(d) == 0 || d[len(d)-1] != int32(fi) {
				definers[id] = append(d, int32(fi))
			}
		}
	}
	slot := make([]int32, len(definers)+1)
	for id, d := range definers {
		slot[id+1] = slot[id] + int32(len(d))
	}
	// Each file's references, resolved once: the name's ID, or -1 when the
	// name is defined nowhere, in too many files to mean anything, is one
	// of the file's language's predeclared names (a Go file's string or len
	// is not a use of some method named string or len), or occurs only as
	// an imported package's name (fmt in fmt.Println).
	refIDs := make([][]int32, n)
	for fi, f := range ix.files {
		ids := make([]int32, len(f.Refs))
		builtin := predeclared[f.Language]
		for i, r := range f.Refs {
			ids[i] = -1
			if id, ok := nameID[r.Name]; ok && len(definers[id]) <= maxDefiners && !builtin[r.Name] && r.Count > r.Package {
				ids[i] = id
			}
		}
		refIDs[fi] = ids
	}

	// Tests and vendored copies of other projects use or hold code, but are
	// seldom what a map of this one should show.
	testWeight := make([]float64, n)
	for i, f := range ix.files {
		testWeight[i] = 1
		if isTestPath(f.Path) || isVendoredPath(f.Path) {
			testWeight[i] = 0.1
		}
	}

	// forEachEdge yields every weighted edge from a user file to a defining
	// file, with the slot of the (name, definer) pair, grouped by user file
	// in file order.
	forEachEdge := func(fn func(from, to, slot int32, w float64)) {
		for fi, f := range ix.files {
			for i, id := range refIDs[fi] {
				if id < 0 {
					continue
				}
				defs := definers[id]
				r := f.Refs[i]
				w := nameWeight(r.Name, len(defs)) * math.Sqrt(float64(r.Count-r.Package))
				for k, to := range defs {
					if int(to) != fi {
						fn(int32(fi), to, slot[id]+int32(k), w*testWeight[to])
					}
				}
			}
		}
	}
	start, targets, weights, out := compressEdges(n, func(fn func(from, to int32, w float64)) {
		forEachEdge(func(from, to, _ int32, w float64) { fn(from, to, w) })
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
	rank := pageRank(start, targets, weights, out, personal, 0.85, 50)

	// Spread each file's rank over its outgoing edges onto the names.
	symRank := make([]float64, slot[len(definers)])
	ranked := make([]bool, len(symRank))
	forEachEdge(func(from, _, sl int32, w float64) {
		symRank[sl] += rank[from] * w / out[from]
		ranked[sl] = true
	})
	// A trickle for unreferenced definitions, so a generous budget still
	// shows them, in file-rank order.
	for fi, f := range ix.files {
		for _, s := range f.Symbols {
			if s.Parent < 0 && mapped(s) {
				id := nameID[s.Name]
				defs := definers[id]
				k, _ := slices.BinarySearch(defs, int32(fi))
				sl := slot[id] + int32(k)
				symRank[sl] += rank[fi] * 1e-6
				ranked[sl] = true
			}
		}
	}
	type tag struct {
		file int32
		name string
		rank float64
	}
	var tags []tag
	for name, id := range nameID {
		for k, fi := range definers[id] {
			if sl := slot[id] + int32(k); ranked[sl] {
				tags = append(tags, tag{fi, name, symRank[sl]})
			}
		}
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
	// The largest prefix of the ranking that fits (the rendering grows with
	// the prefix): gallop, since the answer is usually a few hundred tags of
	// many thousands, then bisect.
	lo, hi := 0, 1
	for hi <= len(tags) && fits(render(hi)) {
		lo, hi = hi, hi*2
	}
	hi = min(hi, len(tags)+1)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(render(mid)) {
			lo = mid
		} else {
			hi = mid
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

// isVendoredPath recognises copies of other projects kept in a repository:
// files under vendor/, third_party/ or node_modules/.
func isVendoredPath(p string) bool {
	for _, dir := range []string{"vendor/", "third_party/", "node_modules/"} {
		if strings.HasPrefix(p, dir) || strings.Contains(p, "/"+dir) {
			return true
		}
	}
	return false
}

// predeclared lists, per language, names that every file may use without
// defining or importing them; a reference to one says nothing about the
// repository's own definitions of that name.
var predeclared = map[string]map[string]bool{
	"go": setOf("any", "append", "bool", "byte", "cap", "clear", "close", "comparable", "complex", "complex64",
		"complex128", "copy", "delete", "error", "false", "float32", "float64", "iota", "imag", "int", "int8",
		"int16", "int32", "int64", "len", "make", "max", "min", "new", "nil", "panic", "print", "println",
		"real", "recover", "rune", "string", "true", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr"),
	"python": setOf("abs", "all", "any", "bool", "bytes", "dict", "enumerate", "filter", "float", "format",
		"getattr", "hasattr", "hash", "id", "input", "int", "isinstance", "issubclass", "iter", "len", "list",
		"map", "max", "min", "next", "object", "open", "print", "range", "repr", "reversed", "round", "self",
		"set", "setattr", "sorted", "str", "sum", "super", "tuple", "type", "zip"),
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
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

// compressEdges builds the file graph in compressed rows from edges that
// each yields grouped by their source, in ascending order: the edges from
// file f go to targets[start[f]:start[f+1]], each target once with the
// summed weight; out[f] is the total weight leaving f.
func compressEdges(n int, each func(fn func(from, to int32, w float64))) (start, targets []int32, weights, out []float64) {
	out = make([]float64, n)
	start = make([]int32, n+1)
	pos := make([]int32, n) // index in targets of the current row's edge to a file, +1; 0: none yet
	cur := int32(-1)
	each(func(from, to int32, w float64) {
		if from != cur {
			if cur >= 0 {
				for _, t := range targets[start[cur]:] {
					pos[t] = 0
				}
			}
			for f := cur + 1; f <= from; f++ {
				start[f] = int32(len(targets))
			}
			cur = from
		}
		if pos[to] == 0 {
			targets = append(targets, to)
			weights = append(weights, 0)
			pos[to] = int32(len(targets))
		}
		weights[pos[to]-1] += w
		out[from] += w
	})
	for f := cur + 1; f <= int32(n); f++ {
		start[f] = int32(len(targets))
	}
	return start, targets, weights, out
}

// pageRank computes personalised PageRank by power iteration over a graph in
// compressed rows (see RepoMap). Rank of files with no outgoing edges
// returns to the personalisation vector.
func pageRank(start, targets []int32, weights, out, personal []float64, damping float64, iterations int) []float64 {
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
		for from := range n {
			if out[from] == 0 {
				continue
			}
			share := damping * rank[from] / out[from]
			for e := start[from]; e < start[from+1]; e++ {
				next[targets[e]] += share * weights[e]
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
