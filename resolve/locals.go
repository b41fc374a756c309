package resolve

import (
	"embed"
	"fmt"
	"sort"
	"sync"

	sitter "github.com/smacker/go-tree-sitter"
)

//go:embed queries/*.scm
var queryFiles embed.FS

// compiledQuery compiles a locals query once per language.
type compiledQuery struct {
	once  sync.Once
	file  string
	lang  func() *sitter.Language
	query *sitter.Query
	err   error
}

func (c *compiledQuery) get() (*sitter.Query, error) {
	c.once.Do(func() {
		src, err := queryFiles.ReadFile("queries/" + c.file)
		if err != nil {
			c.err = err
			return
		}
		c.query, c.err = sitter.NewQuery(src, c.lang())
		if c.err != nil {
			c.err = fmt.Errorf("locals query %s: %w", c.file, c.err)
		}
	})
	return c.query, c.err
}

// scope is one @local.scope: the byte range in which its bindings are seen.
type scope struct {
	kind       string // the scope node's type
	start, end uint32
	parent     *scope
	defs       map[string][]binding
}

// binding is one @local.definition: the identifier that binds the name and
// the offset from which uses see it.
type binding struct {
	node    *sitter.Node
	visible uint32
}

// locals is what a locals query found in one file.
type locals struct {
	scopes []*scope            // sorted by start, outer before inner
	refs   map[uint32]struct{} // start offsets of @local.reference nodes
	defs   map[uint32]*scope   // start offset of a binding identifier -> its scope
}

// visibleFunc says from which offset uses see a binding (Go: after the
// declaring statement; parameters: the whole scope).
type visibleFunc func(def *sitter.Node) uint32

// outerFunc says whether a binding belongs to the scope around the one
// holding it (Python's def f: f is bound where the def is, not inside).
type outerFunc func(def *sitter.Node) bool

// buildLocals runs q over root and assembles the scope tree.
func buildLocals(q *sitter.Query, root *sitter.Node, src []byte, visible visibleFunc, outer outerFunc) *locals {
	l := &locals{refs: map[uint32]struct{}{}, defs: map[uint32]*scope{}}
	qc := sitter.NewQueryCursor()
	defer qc.Close()
	qc.Exec(q, root)
	var defNodes []*sitter.Node
	for {
		m, ok := qc.NextMatch()
		if !ok {
			break
		}
		for _, c := range m.Captures {
			switch q.CaptureNameForId(c.Index) {
			case "local.scope":
				l.scopes = append(l.scopes, &scope{kind: c.Node.Type(), start: c.Node.StartByte(), end: c.Node.EndByte()})
			case "local.definition":
				defNodes = append(defNodes, c.Node)
			case "local.reference":
				l.refs[c.Node.StartByte()] = struct{}{}
			}
		}
	}
	sort.SliceStable(l.scopes, func(i, j int) bool {
		a, b := l.scopes[i], l.scopes[j]
		if a.start != b.start {
			return a.start < b.start
		}
		return a.end > b.end
	})
	var stack []*scope
	for _, s := range l.scopes {
		for len(stack) > 0 && stack[len(stack)-1].end < s.end {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			s.parent = stack[len(stack)-1]
		}
		stack = append(stack, s)
	}
	for _, d := range defNodes {
		s := l.innermost(d.StartByte())
		if s != nil && outer != nil && outer(d) {
			s = s.parent
		}
		if s == nil {
			continue // package level: answered from the package's files
		}
		if s.defs == nil {
			s.defs = map[string][]binding{}
		}
		name := d.Content(src)
		s.defs[name] = append(s.defs[name], binding{node: d, visible: visible(d)})
		l.defs[d.StartByte()] = s
	}
	return l
}

// innermost returns the innermost scope holding offset, or nil.
func (l *locals) innermost(off uint32) *scope {
	i := sort.Search(len(l.scopes), func(i int) bool { return l.scopes[i].start > off })
	for i--; i >= 0; i-- {
		s := l.scopes[i]
		if s.start <= off && off < s.end {
			// Scopes nest, so the last one opened before off that still
			// holds it is the innermost.
			return s
		}
	}
	return nil
}

// lookup finds the binding of name seen at offset: the first binding of
// the innermost scope that has one visible there.
func (l *locals) lookup(name string, at uint32) *sitter.Node {
	for s := l.innermost(at); s != nil; s = s.parent {
		for _, b := range s.defs[name] {
			if b.visible <= at {
				return b.node
			}
		}
	}
	return nil
}

// isReference reports whether n was captured as a @local.reference.
func (l *locals) isReference(n *sitter.Node) bool {
	_, ok := l.refs[n.StartByte()]
	return ok
}

// isBinding reports whether n binds a local name.
func (l *locals) isBinding(n *sitter.Node) bool {
	_, ok := l.defs[n.StartByte()]
	return ok
}

// redeclared returns the binding n repeats (Go's a, err := … reuses an err
// already bound in the same scope), or n itself.
func (l *locals) redeclared(n *sitter.Node, name string) *sitter.Node {
	s := l.defs[n.StartByte()]
	if s == nil || n.Parent() == nil || n.Parent().Parent() == nil || n.Parent().Parent().Type() != "short_var_declaration" {
		return n
	}
	for _, b := range s.defs[name] {
		if b.node.StartByte() == n.StartByte() {
			break
		}
		if b.visible <= n.StartByte() {
			return b.node
		}
	}
	// A function's body is one block with its parameters and results.
	if p := s.parent; s.kind == "block" && p != nil && p.end == s.end &&
		(p.kind == "function_declaration" || p.kind == "method_declaration" || p.kind == "func_literal") {
		if bs := p.defs[name]; len(bs) > 0 {
			return bs[0].node
		}
	}
	return n
}
