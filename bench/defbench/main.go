// Command defbench measures textDocument/definition and references of a
// language server against gopls as ground truth. It samples identifier
// uses in a Go module (go/types says what each one names, which gives its
// category), opens each file in both servers as an editor would, asks both
// for the definition of each use and for the references of a subset, and
// prints per category the share of answers right, wrong and missing, and
// the references' precision and recall. bench/definitions.sh runs it on
// Loom's own module.
//
//	defbench -dir MODULE -n 3000 -refs 200 -seed 1 -loom 'loom lsp' -gopls gopls
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"go/ast"
	"go/types"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
	"golang.org/x/tools/go/packages"

	"github.com/loom-agent/loom/lsp"
	"github.com/loom-agent/loom/workspace"
)

// categories in the order they are printed.
var categories = []string{"local", "parameter", "field", "method", "package-level", "imported member", "member of external type", "builtin"}

// use is one sampled identifier use.
type use struct {
	path     string
	pos      protocol.Position
	name     string
	category string
}

func main() {
	dir := flag.String("dir", ".", "the Go module to sample")
	n := flag.Int("n", 3000, "identifier uses to sample")
	refs := flag.Int("refs", 200, "of which to ask references")
	seed := flag.Uint64("seed", 1, "the sample's seed")
	loomCmd := flag.String("loom", "loom lsp", "the server measured")
	goplsCmd := flag.String("gopls", "gopls", "the ground truth")
	flag.Parse()
	root, err := filepath.Abs(*dir)
	check(err)
	uses, err := sample(root, *n, *seed)
	check(err)
	fmt.Fprintf(os.Stderr, "defbench: %d uses sampled\n", len(uses))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	truth, err := start(ctx, strings.Fields(*goplsCmd), root)
	check(err)
	defer truth.stop()
	loom, err := start(ctx, strings.Fields(*loomCmd), root)
	check(err)
	defer loom.stop()
	for _, s := range []*server{truth, loom} {
		for _, u := range uses {
			check(s.open(ctx, u.path))
		}
	}

	type tally struct{ right, wrong, missing, total int }
	per := map[string]*tally{}
	var all tally
	var loomTime, goplsTime []time.Duration
	for _, u := range uses {
		t0 := time.Now()
		want, err := truth.definition(ctx, u)
		goplsTime = append(goplsTime, time.Since(t0))
		if err != nil || len(want) == 0 {
			continue // gopls has no answer: no ground truth
		}
		t0 = time.Now()
		got, err := loom.definition(ctx, u)
		loomTime = append(loomTime, time.Since(t0))
		check(err)
		t := per[u.category]
		if t == nil {
			t = &tally{}
			per[u.category] = t
		}
		t.total++
		all.total++
		switch {
		case len(got) == 0:
			t.missing++
			all.missing++
		case len(got) == 1 && same(got[0], want[0]):
			t.right++
			all.right++
		default:
			t.wrong++
			all.wrong++
			if os.Getenv("DEFBENCH_VERBOSE") != "" {
				fmt.Fprintf(os.Stderr, "wrong %s %s:%d:%d %s: loom %s:%d:%d gopls %s:%d:%d\n", u.category, rel(root, u.path), u.pos.Line+1, u.pos.Character+1, u.name,
					rel(root, got[0].URI.FsPath()), got[0].Range.Start.Line+1, got[0].Range.Start.Character+1,
					rel(root, want[0].URI.FsPath()), want[0].Range.Start.Line+1, want[0].Range.Start.Character+1)
			}
		}
	}
	fmt.Printf("definition, %d uses of %s (gopls answered %d)\n", len(uses), filepath.Base(root), all.total)
	fmt.Printf("%-24s %6s %8s %8s %11s\n", "category", "uses", "right", "wrong", "unanswered")
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	for _, c := range append(slices.Clone(categories), "all") {
		t := per[c]
		if c == "all" {
			t = &all
		}
		if t == nil {
			continue
		}
		fmt.Printf("%-24s %6d %8s %8s %11s\n", c, t.total, pct(t.right, t.total), pct(t.wrong, t.total), pct(t.missing, t.total))
	}
	fmt.Printf("definition latency median: loom %.1f ms, gopls %.1f ms\n", median(loomTime), median(goplsTime))

	// References of every k-th use: precision and recall of loom's set
	// against gopls's.
	var hits, loomN, goplsN, asked int
	var lt, gt []time.Duration
	step := max(1, len(uses)/max(1, *refs))
	for i := 0; i < len(uses) && asked < *refs; i += step {
		u := uses[i]
		t0 := time.Now()
		want, err := truth.references(ctx, u)
		gt = append(gt, time.Since(t0))
		if err != nil || len(want) == 0 {
			continue
		}
		t0 = time.Now()
		got, err := loom.references(ctx, u)
		lt = append(lt, time.Since(t0))
		check(err)
		asked++
		wantSet, gotSet := map[string]bool{}, map[string]bool{}
		for _, l := range want {
			wantSet[key(l)] = true
		}
		for _, l := range got {
			gotSet[key(l)] = true
		}
		for _, l := range want {
			if !gotSet[key(l)] && os.Getenv("DEFBENCH_VERBOSE") != "" {
				fmt.Fprintf(os.Stderr, "missed ref of %s at %s:%d: %s\n", u.name, rel(root, u.path), u.pos.Line+1, rel(root, key(l)))
			}
		}
		for _, l := range got {
			if wantSet[key(l)] {
				hits++
			} else if os.Getenv("DEFBENCH_VERBOSE") != "" {
				fmt.Fprintf(os.Stderr, "extra ref of %s at %s:%d: %s\n", u.name, rel(root, u.path), u.pos.Line+1, rel(root, key(l)))
			}
		}
		loomN += len(got)
		goplsN += len(want)
	}
	precision, recall := 1.0, 0.0
	if loomN > 0 {
		precision = float64(hits) / float64(loomN)
	}
	if goplsN > 0 {
		recall = float64(hits) / float64(goplsN)
	}
	fmt.Printf("references, %d uses: precision %.3f, recall %.3f (loom %d locations, gopls %d, shared %d)\n", asked, precision, recall, loomN, goplsN, hits)
	fmt.Printf("references latency median: loom %.1f ms, gopls %.1f ms\n", median(lt), median(gt))
}

func key(l protocol.Location) string {
	return fmt.Sprintf("%s:%d:%d", l.URI.FsPath(), l.Range.Start.Line, l.Range.Start.Character)
}

func same(a, b protocol.Location) bool { return key(a) == key(b) }

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// sample loads the module's packages with types and draws n identifier
// uses, each with the category of what it names.
func sample(root string, n int, seed uint64) ([]use, error) {
	cfg := &packages.Config{Dir: root, Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
		packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo, Tests: false}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, err
	}
	var all []use
	texts := map[string]*workspace.Lines{}
	for _, p := range pkgs {
		if p.TypesInfo == nil {
			continue
		}
		for _, file := range p.Syntax {
			path := p.Fset.File(file.Pos()).Name()
			if !strings.HasPrefix(path, root+string(filepath.Separator)) || !strings.HasSuffix(path, ".go") {
				continue // cgo's generated files
			}
			params := map[types.Object]bool{}
			ast.Inspect(file, func(node ast.Node) bool {
				var lists []*ast.FieldList
				switch f := node.(type) {
				case *ast.FuncDecl:
					lists = []*ast.FieldList{f.Recv, f.Type.TypeParams, f.Type.Params, f.Type.Results}
				case *ast.FuncLit:
					lists = []*ast.FieldList{f.Type.Params, f.Type.Results}
				case *ast.TypeSpec:
					lists = []*ast.FieldList{f.TypeParams}
				}
				for _, l := range lists {
					if l == nil {
						continue
					}
					for _, fld := range l.List {
						for _, nm := range fld.Names {
							if o := p.TypesInfo.Defs[nm]; o != nil {
								params[o] = true
							}
						}
					}
				}
				return true
			})
			ast.Inspect(file, func(node ast.Node) bool {
				id, ok := node.(*ast.Ident)
				if !ok || id.Name == "_" {
					return true
				}
				obj := p.TypesInfo.Uses[id]
				if obj == nil {
					return true
				}
				c := category(obj, p.Types, params)
				if c == "" {
					return true
				}
				lines := texts[path]
				if lines == nil {
					b, err := os.ReadFile(path)
					if err != nil {
						return true
					}
					lines = workspace.NewLines(string(b))
					texts[path] = lines
				}
				pos, err := lines.Position(p.Fset.Position(id.Pos()).Offset, workspace.UTF16)
				if err != nil {
					return true
				}
				all = append(all, use{path: path, name: id.Name, category: c,
					pos: protocol.Position{Line: uint32(pos.Line), Character: uint32(pos.Character)}})
				return true
			})
		}
	}
	slices.SortFunc(all, func(a, b use) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Character, b.pos.Character))
	})
	all = slices.CompactFunc(all, func(a, b use) bool { return a.path == b.path && a.pos == b.pos })
	rng := rand.New(rand.NewPCG(seed, seed))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))], nil
}

// category says what kind of name a use names.
func category(obj types.Object, pkg *types.Package, params map[types.Object]bool) string {
	if obj.Pkg() == nil {
		return "builtin"
	}
	own := obj.Pkg() == pkg
	packageLevel := obj.Parent() != nil && obj.Parent() == obj.Pkg().Scope()
	switch o := obj.(type) {
	case *types.PkgName, *types.Label:
		return ""
	case *types.Var:
		if o.IsField() {
			if own {
				return "field"
			}
			return "member of external type"
		}
	case *types.Func:
		if sig, ok := o.Type().(*types.Signature); ok && sig.Recv() != nil {
			if own {
				return "method"
			}
			return "member of external type"
		}
	}
	switch {
	case params[obj]:
		return "parameter"
	case packageLevel && own:
		return "package-level"
	case packageLevel:
		return "imported member"
	case own:
		if _, ok := obj.(*types.TypeName); ok && isTypeParam(obj) {
			return "parameter"
		}
		return "local"
	}
	return ""
}

func isTypeParam(obj types.Object) bool {
	_, ok := obj.Type().(*types.TypeParam)
	return ok
}

// server is a language server process and its connection.
type server struct {
	cmd    *exec.Cmd
	conn   protocol.Server
	opened map[string]bool
}

func start(ctx context.Context, argv []string, root string) (*server, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	_, conn := lsp.NewClientConn(ctx, client{}, rwc{stdout, stdin})
	u := uri.File(root)
	folders := []protocol.WorkspaceFolder{{URI: u, Name: filepath.Base(root)}}
	params := &protocol.InitializeParams{RootURI: &u,
		WorkspaceFoldersInitializeParams: protocol.WorkspaceFoldersInitializeParams{WorkspaceFolders: protocol.NewNullable(folders)}}
	if _, err := conn.Initialize(ctx, params); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s: initialize: %w", argv[0], err)
	}
	if err := conn.Initialized(ctx, &protocol.InitializedParams{}); err != nil {
		return nil, err
	}
	return &server{cmd: cmd, conn: conn, opened: map[string]bool{}}, nil
}

func (s *server) open(ctx context.Context, path string) error {
	if s.opened[path] {
		return nil
	}
	s.opened[path] = true
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return s.conn.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: uri.File(path), LanguageID: "go", Version: 1, Text: string(text)}})
}

func (s *server) definition(ctx context.Context, u use) ([]protocol.Location, error) {
	res, err := s.conn.Definition(ctx, &protocol.DefinitionParams{TextDocumentPositionParams: at(u)})
	if err != nil {
		return nil, err
	}
	switch r := res.(type) {
	case protocol.LocationSlice:
		return r, nil
	case *protocol.Location:
		return []protocol.Location{*r}, nil
	}
	return nil, nil
}

func (s *server) references(ctx context.Context, u use) ([]protocol.Location, error) {
	return s.conn.References(ctx, &protocol.ReferenceParams{TextDocumentPositionParams: at(u),
		Context: protocol.ReferenceContext{IncludeDeclaration: true}})
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.conn.Shutdown(ctx)
	s.conn.Exit(ctx)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cmd.Process.Kill()
	}
}

func at(u use) protocol.TextDocumentPositionParams {
	return protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(u.path)}, Position: u.pos}
}

// client answers the requests servers make of an editor.
type client struct{ protocol.UnimplementedClient }

func (client) Configuration(_ context.Context, p *protocol.ConfigurationParams) ([]protocol.LSPAny, error) {
	out := make([]protocol.LSPAny, len(p.Items))
	for i := range out {
		out[i] = protocol.LSPAny("null")
	}
	return out, nil
}
func (client) RegisterCapability(context.Context, *protocol.RegistrationParams) error { return nil }
func (client) WorkDoneProgressCreate(context.Context, *protocol.WorkDoneProgressCreateParams) error {
	return nil
}
func (client) WorkspaceFolders(context.Context) ([]protocol.WorkspaceFolder, error) { return nil, nil }

type rwc struct {
	io.ReadCloser
	io.WriteCloser
}

func (c rwc) Close() error { c.WriteCloser.Close(); return c.ReadCloser.Close() }

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "defbench:", err)
		os.Exit(1)
	}
}
