package resolve

import (
	"context"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// Python members beyond a class's own body: super(), __slots__, the
// parameters keyword arguments name, and when a class's ancestors are all
// known.

// pyMethodClass returns the class whose body holds the def fn (decorated
// or not), or nil.
func pyMethodClass(fn *sitter.Node) *sitter.Node {
	if fn == nil {
		return nil
	}
	p := fn.Parent()
	if p != nil && p.Type() == "decorated_definition" {
		p = p.Parent()
	}
	if p != nil && p.Type() == "block" && p.Parent() != nil && p.Parent().Type() == "class_definition" {
		return p.Parent()
	}
	return nil
}

// pySuper says what super() in a method is: the bases of the method's
// class ("super", n its name). super(C, self) is the same when C is that
// class.
func pySuper(f *pyFile, call *sitter.Node) (pyValue, bool) {
	fnNode := call.ChildByFieldName("function")
	if fnNode == nil || fnNode.Type() != "identifier" || fnNode.Content(f.src) != "super" || pyLookup(f.locals, "super", fnNode) != nil {
		return pyValue{}, false
	}
	var fn *sitter.Node
	for p := call.Parent(); p != nil && fn == nil; p = p.Parent() {
		switch p.Type() {
		case "lambda", "class_definition", "module":
			return pyValue{}, false
		case "function_definition":
			fn = p
		}
	}
	class := pyMethodClass(fn)
	if class == nil {
		return pyValue{}, false
	}
	name := class.ChildByFieldName("name")
	if args := call.ChildByFieldName("arguments"); args != nil && args.NamedChildCount() > 0 {
		if args.NamedChildCount() != 2 || args.NamedChild(0).Content(f.src) != name.Content(f.src) {
			return pyValue{}, false
		}
	}
	return pyValue{kind: "super", f: f, n: name}, true
}

// pySlots returns the names a class's __slots__ lists (each the text
// inside its quotes, which pyright's range of the string holds), and
// whether it has __slots__ (listed in a way the syntax cannot read: none).
func pySlots(f *pyFile, def *sitter.Node) (map[string]*sitter.Node, bool) {
	body := def.ChildByFieldName("body")
	if body == nil {
		return nil, false
	}
	for i := 0; i < int(body.NamedChildCount()); i++ {
		st := body.NamedChild(i)
		if st.Type() != "expression_statement" || st.NamedChildCount() != 1 || st.NamedChild(0).Type() != "assignment" {
			continue
		}
		a := st.NamedChild(0)
		left, right := a.ChildByFieldName("left"), a.ChildByFieldName("right")
		if left == nil || left.Content(f.src) != "__slots__" || right == nil {
			continue
		}
		slots := map[string]*sitter.Node{}
		items := []*sitter.Node{right}
		switch right.Type() {
		case "tuple", "list", "parenthesized_expression":
			items = nil
			for j := 0; j < int(right.NamedChildCount()); j++ {
				items = append(items, right.NamedChild(j))
			}
		}
		for _, it := range items {
			if it.Type() != "string" {
				continue
			}
			for j := 0; j < int(it.NamedChildCount()); j++ {
				if c := it.NamedChild(j); c.Type() == "string_content" {
					slots[c.Content(f.src)] = c // the name inside the quotes
				}
			}
		}
		return slots, true
	}
	return nil, false
}

// pyIgnoredBase reports a base that declares nothing a use could name
// here: object, Generic[…], Protocol[…].
func pyIgnoredBase(f *pyFile, base *sitter.Node) bool {
	switch base.Type() {
	case "identifier":
		return base.Content(f.src) == "object"
	case "subscript":
		v := base.ChildByFieldName("value")
		if v == nil {
			return false
		}
		name := v.Content(f.src)
		name = name[strings.LastIndex(name, ".")+1:]
		return name == "Generic" || name == "Protocol"
	}
	return false
}

// pyAncestorsKnown reports whether every class def derives from resolves
// to a class in the workspace, so a member found in none of them is in
// none.
func (r *Resolver) pyAncestorsKnown(ctx context.Context, f *pyFile, def *sitter.Node, depth int) bool {
	if depth > maxDepth {
		return false
	}
	bases := def.ChildByFieldName("superclasses")
	if bases == nil {
		return true
	}
	for i := 0; i < int(bases.NamedChildCount()); i++ {
		base := bases.NamedChild(i)
		if base.Type() == "keyword_argument" || pyIgnoredBase(f, base) {
			continue
		}
		v, ok := r.pyValueOf(ctx, f, base, depth+1)
		if !ok || v.kind != "class" || !r.pyAncestorsKnown(ctx, v.f, v.n.Parent(), depth+1) {
			return false
		}
	}
	return true
}

// pyKeywordParameter resolves the name of a keyword argument to the
// parameter of the function or class the call calls; not where a
// decorator may have changed the signature.
func (r *Resolver) pyKeywordParameter(ctx context.Context, f *pyFile, kw *sitter.Node, name string, depth int) (target, bool) {
	args := kw.Parent()
	if args == nil || args.Type() != "argument_list" || args.Parent() == nil || args.Parent().Type() != "call" {
		return target{}, false
	}
	callee := args.Parent().ChildByFieldName("function")
	if callee != nil && callee.Type() == "attribute" {
		callee = callee.ChildByFieldName("attribute")
	}
	if callee == nil || callee.Type() != "identifier" {
		return target{}, false
	}
	t, ok := r.pyResolve(ctx, f, callee, depth+1)
	if !ok {
		return target{}, false
	}
	m, fn, ok := r.pyDefAt(ctx, t)
	if ok && fn.Type() == "class_definition" {
		if pyDecoratedAny(fn) {
			return target{}, false
		}
		if t, ok = r.pyClassMember(ctx, m, fn.ChildByFieldName("name"), "__init__", true, depth+1); ok {
			m, fn, ok = r.pyDefAt(ctx, t)
		}
	}
	if !ok || fn.Type() != "function_definition" {
		return target{}, false
	}
	if pyDecoratedAny(fn) && !pyDecorated(fn, m.src, "staticmethod") && !pyDecorated(fn, m.src, "classmethod") {
		return target{}, false
	}
	params := fn.ChildByFieldName("parameters")
	if params == nil {
		return target{}, false
	}
	var found *sitter.Node
	for i := 0; i < int(params.NamedChildCount()); i++ {
		p := params.NamedChild(i)
		var id *sitter.Node
		switch p.Type() {
		case "identifier":
			id = p
		case "typed_parameter":
			if p.NamedChildCount() > 0 && p.NamedChild(0).Type() == "identifier" {
				id = p.NamedChild(0)
			}
		case "default_parameter", "typed_default_parameter":
			id = p.ChildByFieldName("name")
		case "positional_separator":
			found = nil // the ones before / are not keywords
		}
		if id != nil && id.Content(m.src) == name {
			found = id
		}
	}
	if found == nil {
		return target{}, false
	}
	return m.target(found), true
}

// pyDefAt returns the def or class whose name t is.
func (r *Resolver) pyDefAt(ctx context.Context, t target) (*pyFile, *sitter.Node, bool) {
	m, err := r.openPy(ctx, t.path, nil)
	if err != nil {
		return nil, nil, false
	}
	n := pyNodeAt(m, t.start)
	if n == nil || n.StartByte() != t.start || n.Parent() == nil || n.Parent().ChildByFieldName("name") != n {
		return nil, nil, false
	}
	return m, n.Parent(), true
}

// pyDecoratedAny reports whether a def or a class carries a decorator.
func pyDecoratedAny(def *sitter.Node) bool {
	p := def.Parent()
	return p != nil && p.Type() == "decorated_definition"
}
