package resolve

import (
	"context"

	sitter "github.com/smacker/go-tree-sitter"
)

// goType is a type expression in the file that wrote it (its names
// resolve there).
type goType struct {
	f *goFile
	n *sitter.Node
}

// named returns the declaration of a named type (through pointers,
// parentheses and instantiation), or false for a type literal.
func (r *Resolver) named(ctx context.Context, t goType, depth int) (decl, bool) {
	n := t.n
	for n != nil && depth <= maxDepth {
		switch n.Type() {
		case "pointer_type", "parenthesized_type":
			n = n.NamedChild(0)
			continue
		case "generic_type":
			n = n.ChildByFieldName("type")
			continue
		case "type_identifier", "identifier":
			d, _ := r.lookupName(ctx, t.f, n.Content(t.f.src), n)
			if !d.ok() || !isTypeName(d.n) {
				return decl{}, false
			}
			return d, true
		case "qualified_type":
			d := r.qualifiedMember(ctx, t.f, n)
			if !d.ok() || !isTypeName(d.n) {
				return decl{}, false
			}
			return d, true
		}
		return decl{}, false
	}
	return decl{}, false
}

func isTypeName(n *sitter.Node) bool {
	p := n.Parent()
	return p != nil && (p.Type() == "type_spec" || p.Type() == "type_alias") && p.ChildByFieldName("name") == n
}

// underlying follows named types to the type literal they are defined as.
func (r *Resolver) underlying(ctx context.Context, t goType, depth int) (goType, bool) {
	for i := 0; i < maxDepth && depth+i <= maxDepth; i++ {
		switch t.n.Type() {
		case "pointer_type", "parenthesized_type":
			t = goType{t.f, t.n.NamedChild(0)}
			if t.n == nil {
				return goType{}, false
			}
			continue
		}
		d, ok := r.named(ctx, t, depth+i)
		if !ok {
			switch t.n.Type() {
			case "struct_type", "interface_type", "slice_type", "array_type", "map_type", "channel_type", "implicit_length_array_type":
				return t, true
			}
			return goType{}, false
		}
		def := d.n.Parent().ChildByFieldName("type")
		if def == nil {
			return goType{}, false
		}
		t = goType{d.f, def}
	}
	return goType{}, false
}

// member finds the field or method name of t, with Go's rule for promoted
// members: the shallowest depth wins, two at one depth are ambiguous.
func (r *Resolver) member(ctx context.Context, t goType, name string, fieldsOnly bool, depth int) decl {
	level := []goType{t}
	seen := map[string]bool{}
	for round := 0; round < 6 && len(level) > 0 && depth <= maxDepth; round++ {
		var found []decl
		var next []goType
		for _, lt := range level {
			if d, ok := r.named(ctx, lt, depth); ok {
				key := d.f.path + ":" + d.name() + ":" + string(rune(d.n.StartByte()))
				if seen[key] {
					continue
				}
				seen[key] = true
				if !fieldsOnly {
					if p := r.packageOf(ctx, d.f); p != nil {
						if m, ok := p.methods[d.name()][name]; ok {
							found = append(found, m)
						}
					}
				}
			}
			u, ok := r.underlying(ctx, lt, depth+1)
			if !ok {
				continue
			}
			switch u.n.Type() {
			case "struct_type":
				eachField(u.n, func(fd *sitter.Node) {
					names := fieldChildren(fd, "name")
					for _, c := range names {
						if c.Content(u.f.src) == name {
							found = append(found, decl{u.f, c})
						}
					}
					if len(names) > 0 {
						return
					}
					typ := fd.ChildByFieldName("type")
					if typ == nil {
						return
					}
					if id := embeddedName(typ); id != nil {
						if id.Content(u.f.src) == name {
							found = append(found, decl{u.f, id})
						}
						next = append(next, goType{u.f, typ})
					}
				})
			case "interface_type":
				if fieldsOnly {
					continue
				}
				for i := 0; i < int(u.n.NamedChildCount()); i++ {
					c := u.n.NamedChild(i)
					switch c.Type() {
					case "method_elem", "method_spec":
						if nm := c.ChildByFieldName("name"); nm != nil && nm.Content(u.f.src) == name {
							found = append(found, decl{u.f, nm})
						}
					case "type_elem", "constraint_elem", "interface_type_name", "type_identifier", "qualified_type":
						e := c
						if (c.Type() == "type_elem" || c.Type() == "constraint_elem") && c.NamedChildCount() == 1 {
							e = c.NamedChild(0)
						}
						next = append(next, goType{u.f, e})
					}
				}
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if len(found) > 1 {
			return decl{} // ambiguous at this depth: Go refuses it too
		}
		level = next
		depth++
	}
	return decl{}
}

// eachField calls fn for each field_declaration of a struct type (not of
// the struct types inside it).
func eachField(st *sitter.Node, fn func(*sitter.Node)) {
	for i := 0; i < int(st.NamedChildCount()); i++ {
		list := st.NamedChild(i)
		if list.Type() != "field_declaration_list" {
			continue
		}
		for j := 0; j < int(list.NamedChildCount()); j++ {
			if fd := list.NamedChild(j); fd.Type() == "field_declaration" {
				fn(fd)
			}
		}
	}
}

// embeddedName is the identifier naming an embedded field (T, *T, p.T, T[K]).
func embeddedName(t *sitter.Node) *sitter.Node {
	for t != nil {
		switch t.Type() {
		case "pointer_type", "parenthesized_type":
			t = t.NamedChild(0)
		case "generic_type":
			t = t.ChildByFieldName("type")
		case "qualified_type":
			return t.ChildByFieldName("name")
		case "type_identifier":
			return t
		default:
			return nil
		}
	}
	return nil
}

// typeOf infers the type of an expression where the syntax says it.
func (r *Resolver) typeOf(ctx context.Context, f *goFile, e *sitter.Node, depth int) (goType, bool) {
	if e == nil || depth > maxDepth {
		return goType{}, false
	}
	switch e.Type() {
	case "parenthesized_expression":
		return r.typeOf(ctx, f, e.NamedChild(0), depth+1)
	case "identifier":
		d, _ := r.lookupName(ctx, f, e.Content(f.src), e)
		if !d.ok() {
			return goType{}, false
		}
		return r.typeOfDecl(ctx, d, e, depth+1)
	case "selector_expression":
		field := e.ChildByFieldName("field")
		if field == nil {
			return goType{}, false
		}
		d := r.selectorMember(ctx, f, e, depth)
		if !d.ok() {
			return goType{}, false
		}
		return r.typeOfDecl(ctx, d, e, depth+1)
	case "call_expression":
		return r.resultType(ctx, f, e, 0, depth+1)
	case "composite_literal":
		if t := e.ChildByFieldName("type"); t != nil {
			return goType{f, t}, true
		}
	case "unary_expression":
		switch e.ChildByFieldName("operator").Type() {
		case "&", "*":
			return r.typeOf(ctx, f, e.ChildByFieldName("operand"), depth+1)
		}
	case "type_assertion_expression":
		if t := e.ChildByFieldName("type"); t != nil {
			return goType{f, t}, true
		}
	case "slice_expression":
		return r.typeOf(ctx, f, e.ChildByFieldName("operand"), depth+1)
	case "index_expression":
		t, ok := r.typeOf(ctx, f, e.ChildByFieldName("operand"), depth+1)
		if !ok {
			return goType{}, false
		}
		return r.elemType(ctx, t, 1, depth+1)
	}
	return goType{}, false
}

// elemType is what indexing or ranging over t yields: i 0 is a map's key,
// 1 its value or a slice's element.
func (r *Resolver) elemType(ctx context.Context, t goType, i int, depth int) (goType, bool) {
	u, ok := r.underlying(ctx, t, depth)
	if !ok {
		return goType{}, false
	}
	var n *sitter.Node
	switch u.n.Type() {
	case "slice_type", "array_type", "implicit_length_array_type":
		if i == 1 {
			n = u.n.ChildByFieldName("element")
		}
	case "map_type":
		n = u.n.ChildByFieldName(map[int]string{0: "key", 1: "value"}[i])
	case "channel_type":
		if i == 0 {
			n = u.n.ChildByFieldName("value")
		}
	}
	if n == nil {
		return goType{}, false
	}
	return goType{u.f, n}, true
}

// typeOfDecl is the type of what a declaring identifier declares, seen at
// use (a type switch's variable has the type of its case).
func (r *Resolver) typeOfDecl(ctx context.Context, d decl, use *sitter.Node, depth int) (goType, bool) {
	if depth > maxDepth {
		return goType{}, false
	}
	p := d.n.Parent()
	if p == nil {
		return goType{}, false
	}
	list := p
	if p.Type() == "expression_list" {
		p = p.Parent()
		if p == nil {
			return goType{}, false
		}
	}
	index := nameIndex(list, d.n)
	switch p.Type() {
	case "parameter_declaration", "field_declaration":
		if t := p.ChildByFieldName("type"); t != nil {
			if p.Type() == "field_declaration" && d.n.Type() == "type_identifier" {
				return goType{d.f, t}, true // an embedded field
			}
			return goType{d.f, t}, true
		}
	case "var_spec":
		if t := p.ChildByFieldName("type"); t != nil {
			return goType{d.f, t}, true
		}
		if v := p.ChildByFieldName("value"); v != nil {
			return r.assigned(ctx, d.f, v, index, depth)
		}
	case "short_var_declaration":
		if v := p.ChildByFieldName("right"); v != nil {
			return r.assigned(ctx, d.f, v, index, depth)
		}
	case "range_clause":
		right := p.ChildByFieldName("right")
		t, ok := r.typeOf(ctx, d.f, right, depth+1)
		if !ok {
			return goType{}, false
		}
		return r.elemType(ctx, t, index, depth+1)
	case "type_switch_statement":
		for c := use; c != nil; c = c.Parent() {
			if c.Type() == "type_case" {
				types := fieldChildren(c, "type")
				if len(types) == 1 {
					return goType{d.f, types[0]}, true
				}
				break
			}
		}
	}
	return goType{}, false
}

// nameIndex is the position of n among the named children of list.
func nameIndex(list, n *sitter.Node) int {
	k := 0
	for i := 0; i < int(list.NamedChildCount()); i++ {
		c := list.NamedChild(i)
		if c == n || c.StartByte() == n.StartByte() && c.Type() == n.Type() {
			return k
		}
		if c.Type() == n.Type() {
			k++
		}
	}
	return 0
}

// assigned is the type of the index-th value an expression list assigns.
func (r *Resolver) assigned(ctx context.Context, f *goFile, values *sitter.Node, index, depth int) (goType, bool) {
	n := int(values.NamedChildCount())
	if values.Type() != "expression_list" {
		if index == 0 {
			return r.typeOf(ctx, f, values, depth+1)
		}
		if values.Type() == "call_expression" {
			return r.resultType(ctx, f, values, index, depth+1)
		}
		return goType{}, false
	}
	if index < n && n > 1 {
		return r.typeOf(ctx, f, values.NamedChild(index), depth+1)
	}
	if n == 1 {
		v := values.NamedChild(0)
		if index == 0 {
			return r.typeOf(ctx, f, v, depth+1)
		}
		if v.Type() == "call_expression" {
			return r.resultType(ctx, f, v, index, depth+1)
		}
	}
	return goType{}, false
}

// resultType is the type of a call's index-th result: a function's or
// method's declared result, a conversion's type, new(T)'s T.
func (r *Resolver) resultType(ctx context.Context, f *goFile, call *sitter.Node, index, depth int) (goType, bool) {
	fn := call.ChildByFieldName("function")
	if fn == nil || depth > maxDepth {
		return goType{}, false
	}
	for fn.Type() == "parenthesized_expression" && fn.NamedChildCount() == 1 {
		fn = fn.NamedChild(0)
	}
	var d decl
	switch fn.Type() {
	case "identifier":
		d, _ = r.lookupName(ctx, f, fn.Content(f.src), fn)
		if d.ok() && d.f.pkgName == "builtin" && d.name() == "new" && index == 0 {
			if args := call.ChildByFieldName("arguments"); args != nil && args.NamedChildCount() == 1 {
				return goType{f, args.NamedChild(0)}, true
			}
			return goType{}, false
		}
	case "selector_expression":
		d = r.selectorMember(ctx, f, fn, depth)
	case "generic_type", "qualified_type", "pointer_type", "parenthesized_type":
		if index == 0 {
			return goType{f, fn}, true
		}
	}
	if !d.ok() {
		return goType{}, false
	}
	if isTypeName(d.n) {
		if index == 0 {
			return goType{d.f, d.n}, true // a conversion
		}
		return goType{}, false
	}
	sig := d.n.Parent()
	if sig == nil {
		return goType{}, false
	}
	switch sig.Type() {
	case "function_declaration", "method_declaration", "method_elem", "method_spec":
	default:
		return goType{}, false
	}
	res := sig.ChildByFieldName("result")
	if res == nil {
		return goType{}, false
	}
	if res.Type() != "parameter_list" {
		if index == 0 {
			return goType{d.f, res}, true
		}
		return goType{}, false
	}
	k := 0
	for i := 0; i < int(res.NamedChildCount()); i++ {
		pd := res.NamedChild(i)
		t := pd.ChildByFieldName("type")
		if t == nil {
			continue
		}
		names := len(fieldChildren(pd, "name"))
		if names == 0 {
			names = 1
		}
		if index < k+names {
			return goType{d.f, t}, true
		}
		k += names
	}
	return goType{}, false
}
