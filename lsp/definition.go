package lsp

import (
	"context"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/resolve"
	"github.com/loom-agent/loom/workspace"
)

// Definition answers textDocument/definition through resolve: the
// declaration the identifier under the cursor refers to by the language's
// scope and import rules, or nothing when that cannot be told. Editors
// merge the answers of every server attached, so a guess by name would put
// wrong locations before the user.
func (s *Server) Definition(ctx context.Context, params *protocol.DefinitionParams) (protocol.DefinitionResult, error) {
	at, err := s.cursor(params.TextDocumentPositionParams)
	if err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	out := protocol.LocationSlice{}
	if at.abs == "" || !resolve.Supported(at.abs) {
		return out, nil
	}
	r, done := s.resolver()
	defer done()
	locs, err := r.Definition(ctx, at.abs, at.src, at.off)
	if err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	return protocol.LocationSlice(s.locations(locs, out)), nil
}

// References answers textDocument/references with the uses that resolve
// to the declaration the cursor's identifier resolves to, in the
// workspace's indexed files.
func (s *Server) References(ctx context.Context, params *protocol.ReferenceParams) ([]protocol.Location, error) {
	at, err := s.cursor(params.TextDocumentPositionParams)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	out := []protocol.Location{}
	if at.abs == "" || !resolve.Supported(at.abs) {
		return out, nil
	}
	ix, err := s.symbolIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	ws := s.workspace()
	var files []string
	for _, e := range ix.Files() {
		if resolve.Supported(e.Path) {
			files = append(files, ws.Abs(e.Path))
		}
	}
	r, done := s.resolver()
	defer done()
	locs, err := r.References(ctx, at.abs, at.src, at.off, files, params.Context.IncludeDeclaration)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	return s.locations(locs, out), nil
}

// cursorAt is a position in a document: its absolute path, text and byte
// offset.
type cursorAt struct {
	abs string // "" outside the workspace
	src []byte
	off int
}

// cursor reads the document (the editor's buffer when open) and converts
// the position.
func (s *Server) cursor(p protocol.TextDocumentPositionParams) (cursorAt, error) {
	enc := s.encoding()
	ws := s.workspace()
	if d := s.doc(p.TextDocument.URI); d != nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		off, err := d.lines.Offset(fromProto(p.Position), enc)
		if err != nil {
			return cursorAt{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
		}
		at := cursorAt{src: []byte(d.text), off: off}
		if d.rel != "" && ws != nil {
			at.abs = ws.Abs(d.rel)
		}
		return at, nil
	}
	rel, src, err := s.readClosed(p.TextDocument.URI)
	if err != nil {
		return cursorAt{}, err
	}
	off, err := workspace.NewLines(string(src)).Offset(fromProto(p.Position), enc)
	if err != nil {
		return cursorAt{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	return cursorAt{abs: ws.Abs(rel), src: src, off: off}, nil
}

// resolveCacheBytes bounds the Go source whose parse the server keeps
// between requests (its trees take several times as much).
const resolveCacheBytes = 48 << 20

// resolver returns a resolver for one request: the workspace's files
// through its confinement and the editor's buffers, the Go toolchain's
// sources and module cache read-only beneath their roots. Requests take
// turns on the server's cache of parsed files.
func (s *Server) resolver() (*resolve.Resolver, func()) {
	goroot, modcache := goDirs()
	ws := s.workspace()
	roots := resolve.NewRootsFS(ws.Root(), goroot, modcache)
	r := resolve.New(workspaceFS{ws: ws, roots: roots}, resolve.Config{GOROOT: goroot, GOMODCACHE: modcache, Cache: s.parsed})
	return r, func() { r.Close(); roots.Close() }
}

// goDirs finds GOROOT and the module cache from the environment, as the go
// command would, without running it (a repository's go.mod may name a
// toolchain the go command would download and run).
func goDirs() (goroot, modcache string) {
	goroot = os.Getenv("GOROOT")
	if goroot == "" {
		goroot = build.Default.GOROOT
	}
	modcache = os.Getenv("GOMODCACHE")
	if modcache == "" {
		if gopath := filepath.SplitList(build.Default.GOPATH); len(gopath) > 0 && gopath[0] != "" {
			modcache = filepath.Join(gopath[0], "pkg", "mod")
		}
	}
	return goroot, modcache
}

// workspaceFS reads the workspace's files as the workspace does (open
// buffers first, confined) and everything else beneath the other roots.
type workspaceFS struct {
	ws    *workspace.Workspace
	roots *resolve.RootsFS
}

func (w workspaceFS) inside(path string) (string, bool) {
	rel, err := filepath.Rel(w.ws.Root(), path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

func (w workspaceFS) ReadFile(path string) ([]byte, error) {
	if rel, ok := w.inside(path); ok {
		return w.ws.ReadFile(rel)
	}
	return w.roots.ReadFile(path)
}

func (w workspaceFS) ReadDir(dir string) ([]fs.DirEntry, error) { return w.roots.ReadDir(dir) }

// locations converts resolved ranges to the client's encoding.
func (s *Server) locations(locs []resolve.Location, out []protocol.Location) []protocol.Location {
	enc := s.encoding()
	lines := map[string]*workspace.Lines{}
	for _, l := range locs {
		ln, ok := lines[l.Path]
		if !ok {
			ln = workspace.NewLines(string(l.Source))
			lines[l.Path] = ln
		}
		rng, err := rangeOf(ln, l.Start, l.End, enc)
		if err != nil {
			continue
		}
		out = append(out, protocol.Location{URI: uri.File(l.Path), Range: rng})
	}
	return out
}
