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

// Resolver resolves names in Go files (other languages answer nothing yet).
// It caches the files and packages it parsed, so one Resolver serves one
// request or a batch of them over an unchanging tree; it is not safe for
// concurrent use.
type Resolver struct {
	fs       FS
	goroot   string
	modcache string
	gofiles  map[string]*goFile
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
		gofiles: map[string]*goFile{}, pkgs: map[string]*goPackage{}, mods: map[string]*goModule{}}
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
	r.gofiles, r.pkgs = nil, nil
	if r.cache != nil {
		r.cache.trim()
		r.cache.turn.Unlock()
	}
}

// Supported reports whether the resolver knows the language of path.
func Supported(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".go")
}

// Definition returns the declaration the identifier at byte offset off of
// the file at path (whose text is src) refers to: one location, or none
// when it cannot tell.
func (r *Resolver) Definition(ctx context.Context, path string, src []byte, off int) ([]Location, error) {
	if !Supported(path) || off < 0 || off > len(src) {
		return nil, nil
	}
	f, err := r.openGo(ctx, path, src)
	if err != nil {
		return nil, err
	}
	r.setMain(filepath.Dir(path))
	d, ok := r.goDefinitionAt(ctx, f, uint32(off))
	if !ok {
		return nil, nil
	}
	return []Location{d.location()}, nil
}

// References returns the uses of what the identifier at off refers to, in
// the file itself and in files (absolute paths, the caller's candidates:
// the workspace's Go files), each a use that resolves to the same
// declaration; the declaration too when includeDecl.
func (r *Resolver) References(ctx context.Context, path string, src []byte, off int, files []string, includeDecl bool) ([]Location, error) {
	if !Supported(path) || off < 0 || off > len(src) {
		return nil, nil
	}
	f, err := r.openGo(ctx, path, src)
	if err != nil {
		return nil, err
	}
	r.setMain(filepath.Dir(path))
	target, ok := r.goDefinitionAt(ctx, f, uint32(off))
	if !ok {
		return nil, nil
	}
	name := target.name()
	candidates := []string{target.f.path}
	if s, local := target.f.locals.defs[target.n.StartByte()]; local && s != nil {
		// A local is seen in its file alone.
	} else if !isExported(name) && target.f.pkg != nil {
		// An unexported name is seen in its package's folder alone.
		dir := filepath.Dir(target.f.path)
		for _, p := range append(files, path) {
			if filepath.Dir(p) == dir {
				candidates = append(candidates, p)
			}
		}
	} else {
		candidates = append(candidates, path)
		candidates = append(candidates, files...)
	}
	seen := map[string]bool{}
	var out []Location
	for _, p := range candidates {
		if seen[p] || !Supported(p) {
			continue
		}
		seen[p] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var text []byte
		if p == path {
			text = src
		}
		cf, err := r.openGo(ctx, p, text)
		if err != nil {
			continue
		}
		for _, at := range wordOffsets(cf.src, name) {
			d, ok := r.goDefinitionAt(ctx, cf, uint32(at))
			if !ok || !d.same(target) {
				continue
			}
			if !includeDecl && cf == target.f && uint32(at) == target.n.StartByte() {
				continue
			}
			out = append(out, Location{Path: p, Start: at, End: at + len(name), Source: cf.src})
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

// wordOffsets returns where name occurs in src as a whole word.
func wordOffsets(src []byte, name string) []int {
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
