package resolve

import (
	"bytes"
	"context"
	"path/filepath"
	"sort"
	"strings"
)

// Location is a declaration or a use: a byte range of the file at Path.
type Location struct {
	Path       string
	Start, End int
	// Source is the text the range is in, as the resolver read it (shared:
	// do not modify), so callers can convert offsets without reading again.
	Source []byte
}

// Resolver resolves names in Go, Python, TypeScript and JavaScript files
// (other languages answer nothing).
// It caches the files and packages it parsed, so one Resolver serves one
// request or a batch of them over an unchanging tree; it is not safe for
// concurrent use.
type Resolver struct {
	fs       FS
	goroot   string
	modcache string
	gofiles  map[string]*goFile
	pyfiles  map[string]*pyFile
	pypkgs   map[string]bool // folders: whether each is a Python package
	tsfiles  map[string]*tsFile
	pkgs     map[string]*goPackage
	mods     map[string]*goModule // by folder: the module whose go.mod is nearest
	main     *goModule
	cache    *Cache
}

// Config says where Go's sources are. Empty fields turn the lookups that
// need them off.
type Config struct {
	GOROOT     string // its src/ holds the standard library
	GOMODCACHE string // the module cache, by require versions
	// Cache, when set, keeps parsed files for the next resolver; New waits
	// until the resolver before it on the same cache is closed.
	Cache *Cache
}

// New returns a resolver reading through fsys.
func New(fsys FS, cfg Config) *Resolver {
	if cfg.Cache != nil {
		cfg.Cache.turn.Lock()
	}
	return &Resolver{fs: fsys, goroot: cfg.GOROOT, modcache: cfg.GOMODCACHE, cache: cfg.Cache,
		gofiles: map[string]*goFile{}, pyfiles: map[string]*pyFile{}, pypkgs: map[string]bool{}, tsfiles: map[string]*tsFile{}, pkgs: map[string]*goPackage{}, mods: map[string]*goModule{}}
}

// Close frees the syntax trees, or hands them to the cache.
func (r *Resolver) Close() {
	if r.gofiles == nil {
		return
	}
	for _, f := range r.gofiles {
		if r.cache != nil {
			f.pkg = nil
			if r.cache.get(f.path, f.src) != f {
				r.cache.put(f)
			}
		} else {
			f.close()
		}
	}
	for _, f := range r.pyfiles {
		f.close()
	}
	for _, f := range r.tsfiles {
		f.close()
	}
	r.gofiles, r.pkgs, r.pyfiles, r.tsfiles = nil, nil, nil, nil
	if r.cache != nil {
		r.cache.trim()
		r.cache.turn.Unlock()
	}
}

// Supported reports whether the resolver knows the language of path.
func Supported(path string) bool {
	return languageOf(path) != ""
}

func languageOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".go":
		return "go"
	case ".py", ".pyi":
		return "python"
	case ".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs":
		return "typescript"
	}
	return ""
}

// target is a resolved declaration: where its name is, whether it is
// local to its file (seen there alone) or to its folder.
type target struct {
	path       string
	start, end uint32
	src        []byte
	local      bool // bound in a scope of its file
	folder     bool // seen in its folder alone (Go's unexported names)
}

func (t target) same(o target) bool { return t.path == o.path && t.start == o.start }

func (t target) location() Location {
	return Location{Path: t.path, Start: int(t.start), End: int(t.end), Source: t.src}
}

// definitionAt resolves the identifier at off of the file at path (src:
// its text, or nil to read it).
func (r *Resolver) definitionAt(ctx context.Context, path string, src []byte, off int) (target, []byte, bool, error) {
	switch languageOf(path) {
	case "go":
		f, err := r.openGo(ctx, path, src)
		if err != nil {
			return target{}, nil, false, err
		}
		r.setMain(filepath.Dir(path))
		if off < 0 || off > len(f.src) {
			return target{}, f.src, false, nil
		}
		d, ok := r.goDefinitionAt(ctx, f, uint32(off))
		if !ok {
			return target{}, f.src, false, nil
		}
		_, local := d.f.locals.defs[d.n.StartByte()]
		return target{path: d.f.path, start: d.n.StartByte(), end: d.n.EndByte(), src: d.f.src, local: local,
			folder: !isExported(d.name())}, f.src, true, nil
	case "python":
		f, err := r.openPy(ctx, path, src)
		if err != nil {
			return target{}, nil, false, err
		}
		if off < 0 || off > len(f.src) {
			return target{}, f.src, false, nil
		}
		t, ok := r.pyDefinitionAt(ctx, f, uint32(off))
		return t, f.src, ok, nil
	case "typescript":
		f, err := r.openTS(ctx, path, src)
		if err != nil {
			return target{}, nil, false, err
		}
		if off < 0 || off > len(f.src) {
			return target{}, f.src, false, nil
		}
		t, ok := r.tsDefinitionAt(ctx, f, uint32(off))
		return t, f.src, ok, nil
	}
	return target{}, src, false, nil
}

// Definition returns the declaration the identifier at byte offset off of
// the file at path (whose text is src) refers to: one location, or none
// when it cannot tell.
func (r *Resolver) Definition(ctx context.Context, path string, src []byte, off int) ([]Location, error) {
	if !Supported(path) || off < 0 || off > len(src) {
		return nil, nil
	}
	t, _, ok, err := r.definitionAt(ctx, path, src, off)
	if err != nil || !ok {
		return nil, err
	}
	return []Location{t.location()}, nil
}

// References returns the uses of what the identifier at off refers to, in
// the file itself and in files (absolute paths, the caller's candidates:
// the workspace's files), each a use that resolves to the same
// declaration; the declaration too when includeDecl.
func (r *Resolver) References(ctx context.Context, path string, src []byte, off int, files []string, includeDecl bool) ([]Location, error) {
	if !Supported(path) || off < 0 || off > len(src) {
		return nil, nil
	}
	tgt, _, ok, err := r.definitionAt(ctx, path, src, off)
	if err != nil || !ok {
		return nil, err
	}
	name := string(tgt.src[tgt.start:tgt.end])
	if name == "" {
		// A module (a file's start): its uses are spelled as the cursor's
		// identifier is.
		name = wordAt(src, off)
	}
	if name == "" {
		return nil, nil
	}
	lang := languageOf(path)
	candidates := []string{tgt.path, path}
	switch {
	case tgt.local:
		candidates = candidates[:1] // a local is seen in its file alone
	case tgt.folder && lang == "go":
		dir := filepath.Dir(tgt.path)
		for _, p := range files {
			if filepath.Dir(p) == dir {
				candidates = append(candidates, p)
			}
		}
	default:
		candidates = append(candidates, files...)
		if lang == "go" && !tgt.local {
			// The declaring package's own files, where it is outside the
			// workspace (GOROOT, a dependency), as gopls reports them.
			candidates = append(candidates, r.packageFiles(ctx, tgt.path)...)
		}
	}
	seen := map[string]bool{}
	var out []Location
	// Go: the uses in the asking file's module, as go build sees them (a
	// nested module is another build, as gopls sees it too).
	var mod *goModule
	if lang == "go" {
		mod = r.moduleOf(filepath.Dir(path))
	}
	for _, p := range candidates {
		if seen[p] || languageOf(p) != lang {
			continue
		}
		seen[p] = true
		if mod != nil && filepath.Dir(p) != filepath.Dir(tgt.path) && r.moduleOf(filepath.Dir(p)) != mod {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var text []byte
		if p == path {
			text = src
		}
		if text == nil {
			if b, err := r.fs.ReadFile(p); err != nil || !bytes.Contains(b, []byte(name)) {
				continue
			} else {
				text = b
			}
		}
		for _, at := range wordOffsets(text, name) {
			t, _, ok, err := r.definitionAt(ctx, p, text, at)
			if err != nil || !ok || !t.same(tgt) {
				continue
			}
			if !includeDecl && p == tgt.path && uint32(at) == tgt.start {
				continue
			}
			out = append(out, Location{Path: p, Start: at, End: at + len(name), Source: text})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Start < out[j].Start
	})
	return out, nil
}

// wordAt returns the word around offset off of src.
func wordAt(src []byte, off int) string {
	start, end := off, off
	for start > 0 && isWordByte(src[start-1]) {
		start--
	}
	for end < len(src) && isWordByte(src[end]) {
		end++
	}
	return string(src[start:end])
}

// wordOffsets returns where name occurs in src as a whole word.
func wordOffsets(src []byte, name string) []int {
	if name == "" {
		return nil
	}
	var out []int
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte(name))
		if j < 0 {
			return out
		}
		at := i + j
		end := at + len(name)
		if (at == 0 || !isWordByte(src[at-1])) && (end == len(src) || !isWordByte(src[end])) {
			out = append(out, at)
		}
		i = end
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

func isExported(name string) bool {
	return name != "" && name[0] >= 'A' && name[0] <= 'Z'
}
