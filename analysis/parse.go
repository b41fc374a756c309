package analysis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	sitter "github.com/smacker/go-tree-sitter"
)

// ErrUnsupportedLanguage is returned for files no table entry claims.
var ErrUnsupportedLanguage = errors.New("analysis: unsupported language")

// DefaultParseTimeout bounds one parse; pathological inputs give up rather
// than stall an index build.
const DefaultParseTimeout = 20 * time.Second

// parserPool serves one-shot parses that need the tree itself (syntax
// errors); a Parser is not safe for concurrent use, so each call borrows
// its own.
var parserPool = sync.Pool{New: func() any { return sitter.NewParser() }}

var extractorPool = sync.Pool{New: func() any { return new(extractor) }}

// parseSource parses src with p, giving up after timeout (0: the default).
// The parser is reset after a failure so it can be reused.
func parseSource(ctx context.Context, p *sitter.Parser, cl *compiledLang, src []byte, old *sitter.Tree, timeout time.Duration) (*sitter.Tree, error) {
	if timeout <= 0 {
		timeout = DefaultParseTimeout
	}
	if cl.prepare != nil {
		src = cl.prepare(src)
	}
	p.SetLanguage(cl.grammar)
	p.SetOperationLimit(int(timeout / time.Microsecond))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The binding cancels a parse through a flag that a goroutine sets when
	// ctx ends, and may set it just after the parse succeeded: the pooled
	// parser would then fail every later parse at once. A parse is bounded
	// by the operation limit instead, so ctx is only checked before it.
	t, err := p.ParseCtx(context.WithoutCancel(ctx), old, src)
	if err != nil {
		p.Reset()
		if errors.Is(err, sitter.ErrOperationLimit) {
			return nil, fmt.Errorf("analysis: parse timed out after %v", timeout)
		}
		return nil, err
	}
	return t, nil
}

func compiledFor(path string, src []byte) (*compiledLang, error) {
	name := DetectLanguage(path, src)
	if name == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedLanguage, path)
	}
	return compiled(name)
}

// fileResult is what one parse of a file yields.
type fileResult struct {
	symbols []Symbol
	refs    []rawRef // only when refs were requested
}

// analysisWant is the walk's table and pruning for a result with or
// without references.
func analysisWant(cl *compiledLang, withRefs bool) (want []uint8, prune bool) {
	if withRefs {
		return cl.want, false
	}
	return cl.outlineWant, true
}

// extract turns a walk's records into a fileResult; refs stay x's until
// its next run.
func extract(x *extractor, cl *compiledLang, recs []walkRec, src []byte, li lineIndex, withRefs bool) fileResult {
	x.run(cl, recs, src, !withRefs)
	res := fileResult{symbols: buildSymbols(src, li, x.defs)}
	if withRefs {
		res.refs = x.refs
	}
	return res
}

func analyzeSource(ctx context.Context, path string, src []byte, withRefs bool) (*compiledLang, fileResult, error) {
	cl, err := compiledFor(path, src)
	if err != nil {
		return nil, fileResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fileResult{}, err
	}
	pa, err := getArena()
	if err != nil {
		return nil, fileResult{}, err
	}
	defer putArena(pa)
	x := extractorPool.Get().(*extractor)
	defer extractorPool.Put(x)
	want, prune := analysisWant(cl, withRefs)
	var res fileResult
	err = pa.parseWalk(cl, src, 0, want, cl.skip, prune, func(recs []walkRec) {
		res = extract(x, cl, recs, src, newLineIndex(src), withRefs)
		res.refs = slices.Clone(res.refs) // x's until its next run
	})
	return cl, res, err
}

// Symbols returns the definitions in one file, flat, in source order, with
// Parent indices.
func Symbols(ctx context.Context, path string, src []byte) ([]Symbol, error) {
	_, res, err := analyzeSource(ctx, path, src, false)
	return res.symbols, err
}

// Outline returns the definitions in one file as a tree.
func Outline(ctx context.Context, path string, src []byte) ([]OutlineItem, error) {
	syms, err := Symbols(ctx, path, src)
	if err != nil {
		return nil, err
	}
	return nest(syms), nil
}

// FindReferences returns the occurrences of name in one file (every
// identifier occurrence when name is ""), excluding the names in
// definitions themselves.
func FindReferences(ctx context.Context, path string, src []byte, name string) ([]Reference, error) {
	_, res, err := analyzeSource(ctx, path, src, true)
	if err != nil {
		return nil, err
	}
	li := newLineIndex(src)
	var out []Reference
	for _, r := range res.refs {
		text := src[r.start:r.end]
		if name != "" && string(text) != name {
			continue
		}
		out = append(out, Reference{Path: path, Name: string(text), Kind: r.kind, Range: li.span(r.start, r.end)})
	}
	return out, nil
}
