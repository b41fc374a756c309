// Command defbench measures textDocument/definition and references of a
// language server against a peer taken as ground truth. It samples
// identifier uses in a corpus (Go: a module, go/types says what each one
// names, which gives its category; Python and TypeScript: identifiers
// found by tree-sitter, whose category is what the peer's answer declares,
// syntax.go), opens each file in both servers as an editor would, asks
// both for the definition of each use and for the references of a subset,
// and prints per category the share of answers right, wrong and missing,
// and the references' precision and recall. bench/definitions.sh runs it
// on Loom's own module against gopls, bench/definitions-python.sh and
// bench/definitions-typescript.sh on other people's code against pyright
// and typescript-language-server.
//
//	defbench -dir MODULE -n 3000 -refs 200 -seed 1 -loom 'loom lsp' -peer gopls
//	defbench -lang python -dir CORPUS -loom 'loom lsp' -peer 'pyright-langserver --stdio'
//	defbench -lang typescript -dir CORPUS -peer 'typescript-language-server --stdio' -init '{"tsserver":{"path":"…/tsserver.js"}}'

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/lsp"
)

// categories in the order they are printed.
var categories = []string{"local", "parameter", "field", "attribute", "method", "package-level", "module-level", "imported", "imported member",
	"member of external type", "external", "builtin"}

// use is one sampled identifier use.
type use struct {
	path     string
	pos      protocol.Position
	name     string
	category string
	member   bool // Python, TypeScript: the name after a dot
}

func main() {
	dir := flag.String("dir", ".", "the Go module to sample")
	n := flag.Int("n", 3000, "identifier uses to sample")
	refs := flag.Int("refs", 200, "of which to ask references")
	seed := flag.Uint64("seed", 1, "the sample's seed")
	loomCmd := flag.String("loom", "loom lsp", "the server measured")
	peerCmd := flag.String("peer", "", "the ground truth (default gopls)")
	goplsCmd := flag.String("gopls", "gopls", "the ground truth for Go (-peer overrides it)")
	lang := flag.String("lang", "go", "the corpus's language: go, python or typescript")
	initOpts := flag.String("init", "", "the peer's initializationOptions, JSON")
	flag.Parse()
	root, err := filepath.Abs(*dir)
	check(err)
	if *peerCmd == "" {
		*peerCmd = *goplsCmd
	}
	peerName := filepath.Base(strings.Fields(*peerCmd)[0])
	var uses []use
	var categorize func(u use, want []protocol.Location) string
	languageID := "go"
	if *lang == "go" {
		uses, err = sampleGo(root, *n, *seed)
		categorize = func(u use, _ []protocol.Location) string { return u.category }
	} else {
		l := languages[*lang]
		if l == nil {
			check(fmt.Errorf("unknown language %q", *lang))
		}
		languageID = l.id
		uses, err = sampleSyntax(root, l, *n, *seed)
		c := &categorizer{root: root, lang: l, files: map[string]*parsed{}}
		categorize = func(u use, want []protocol.Location) string {
			// pyright answers a module of the corpus that shadows the
			// standard library with typeshed's stub and the corpus's
			// file: the category is the corpus's.
			for _, l := range want {
				if strings.HasPrefix(l.URI.FsPath(), root+string(filepath.Separator)) {
					return c.category(u, l)
				}
			}
			return c.category(u, want[0])
		}
	}
	check(err)
	fmt.Fprintf(os.Stderr, "defbench: %d uses sampled\n", len(uses))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	truth, err := start(ctx, strings.Fields(*peerCmd), root, languageID, *initOpts)
	check(err)
	defer truth.stop()
	loom, err := start(ctx, strings.Fields(*loomCmd), root, languageID, "")
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
	for i, u := range uses {
		t0 := time.Now()
		want, err := truth.definition(ctx, u)
		goplsTime = append(goplsTime, time.Since(t0))
		if err != nil || len(want) == 0 {
			continue // the peer has no answer: no ground truth
		}
		if slices.ContainsFunc(want, func(l protocol.Location) bool { return l.URI.FsPath() == u.path && l.Range.Start == u.pos }) {
			continue // a declaration, not a use
		}
		u.category = categorize(u, want)
		uses[i].category = u.category
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
			if os.Getenv("DEFBENCH_VERBOSE") != "" {
				fmt.Fprintf(os.Stderr, "unanswered %s %s:%d:%d %s: %s %s:%d:%d\n", u.category, rel(root, u.path), u.pos.Line+1, u.pos.Character+1, u.name,
					peerName, rel(root, want[0].URI.FsPath()), want[0].Range.Start.Line+1, want[0].Range.Start.Character+1)
			}
		case len(got) == 1 && slices.ContainsFunc(want, func(l protocol.Location) bool { return covers(l, got[0]) }):
			t.right++
			all.right++
		default:
			t.wrong++
			all.wrong++
			if os.Getenv("DEFBENCH_VERBOSE") != "" {
				fmt.Fprintf(os.Stderr, "wrong %s %s:%d:%d %s: loom %s:%d:%d %s %s:%d:%d (of %d)\n", u.category, rel(root, u.path), u.pos.Line+1, u.pos.Character+1, u.name,
					rel(root, got[0].URI.FsPath()), got[0].Range.Start.Line+1, got[0].Range.Start.Character+1, peerName,
					rel(root, want[0].URI.FsPath()), want[0].Range.Start.Line+1, want[0].Range.Start.Character+1, len(want))
			}
		}
	}
	fmt.Printf("definition, %d identifiers of %s sampled, %s answered %d uses\n", len(uses), filepath.Base(root), peerName, all.total)
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
	fmt.Printf("definition latency median: loom %.1f ms, %s %.1f ms\n", median(loomTime), peerName, median(goplsTime))

	// References of every k-th use: precision and recall of loom's set
	// against the peer's. In Python and TypeScript, only of what the
	// corpus declares: the uses of a builtin or of the standard library's
	// stubs are beyond the workspace Loom searches.
	var hits, loomN, goplsN, asked int
	var lt, gt []time.Duration
	var eligible []use
	for _, u := range uses {
		if *lang == "go" || u.category != "" && u.category != "external" && u.category != "member of external type" {
			eligible = append(eligible, u)
		}
	}
	step := max(1, len(eligible)/max(1, *refs))
	for i := 0; i < len(eligible) && asked < *refs; i += step {
		u := eligible[i]
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
	fmt.Printf("references, %d uses: precision %.3f, recall %.3f (loom %d locations, %s %d, shared %d)\n", asked, precision, recall, loomN, peerName, goplsN, hits)
	fmt.Printf("references latency median: loom %.1f ms, %s %.1f ms\n", median(lt), peerName, median(gt))
}

func key(l protocol.Location) string {
	return fmt.Sprintf("%s:%d:%d", l.URI.FsPath(), l.Range.Start.Line, l.Range.Start.Character)
}

func same(a, b protocol.Location) bool { return key(a) == key(b) }

// covers reports whether the peer's location want is got's: the same
// start, or a range on one line that holds got's (pyright's range of
// **kw starts at the stars).
func covers(want, got protocol.Location) bool {
	if same(want, got) {
		return true
	}
	w, g := want.Range, got.Range
	return want.URI == got.URI && w.Start.Line == w.End.Line && g.Start.Line == w.Start.Line && g.End.Line == w.Start.Line &&
		w.Start.Character <= g.Start.Character && g.End.Character <= w.End.Character
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// server is a language server process and its connection.
type server struct {
	cmd        *exec.Cmd
	conn       protocol.Server
	opened     map[string]bool
	languageID string
}

func start(ctx context.Context, argv []string, root, languageID, initOpts string) (*server, error) {
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
	if initOpts != "" {
		params.InitializationOptions = protocol.LSPAny(initOpts)
	}
	if _, err := conn.Initialize(ctx, params); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s: initialize: %w", argv[0], err)
	}
	if err := conn.Initialized(ctx, &protocol.InitializedParams{}); err != nil {
		return nil, err
	}
	return &server{cmd: cmd, conn: conn, opened: map[string]bool{}, languageID: languageID}, nil
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
		URI: uri.File(path), LanguageID: protocol.LanguageKind(s.languageID), Version: 1, Text: string(text)}})
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
	case protocol.DefinitionLinkSlice:
		out := make([]protocol.Location, len(r))
		for i, l := range r {
			out[i] = protocol.Location{URI: l.TargetURI, Range: l.TargetSelectionRange}
		}
		return out, nil
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
