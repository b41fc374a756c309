package resolve

import (
	"context"

	sitter "github.com/smacker/go-tree-sitter"
)

// Members of TypeScript classes and interfaces, where the syntax says
// which: this in a class's methods and field initialisers (arrow
// functions keep the class's this; other functions, object literals and
// static blocks have their own, and are not answered); a parameter, a
// variable, a field or a property whose declared type names a class or
// an interface (C, C<T>; unions and the rest are not answered); a
// variable initialised by new C(…).

// tsValue is an instance of a class (body: its class_body) or of an
// interface (its interface_body).
type tsValue struct {
	f    *tsFile
	body *sitter.Node
}

// tsValueOf says what e is an instance of.
func (r *Resolver) tsValueOf(ctx context.Context, f *tsFile, e *sitter.Node, depth int) (tsValue, bool) {
	if e == nil || depth > maxDepth {
		return tsValue{}, false
	}
	switch e.Type() {
	case "this":
		if body := tsThisClass(e); body != nil {
			return tsValue{f: f, body: body}, true
		}
	case "parenthesized_expression", "non_null_expression":
		if e.NamedChildCount() == 1 {
			return r.tsValueOf(ctx, f, e.NamedChild(0), depth+1)
		}
	case "identifier":
		b := pyLookup(f.locals, e.Content(f.src), e)
		if b == nil || tsImportBinding(b) {
			return tsValue{}, false
		}
		return r.tsDeclValue(ctx, f, b, depth+1)
	case "member_expression":
		prop := e.ChildByFieldName("property")
		if prop == nil || prop.Type() != "property_identifier" {
			return tsValue{}, false
		}
		t, ok := r.tsResolve(ctx, f, prop, depth+1)
		if !ok {
			return tsValue{}, false
		}
		m, err := r.openTS(ctx, t.path, nil)
		if err != nil {
			return tsValue{}, false
		}
		if d := tsNameAt(m, t.start); d != nil {
			return r.tsDeclValue(ctx, m, d, depth+1)
		}
	}
	return tsValue{}, false
}

// tsDeclValue says what the declaration named d holds: an instance of its
// declared type, or of the class its initialiser constructs.
func (r *Resolver) tsDeclValue(ctx context.Context, f *tsFile, d *sitter.Node, depth int) (tsValue, bool) {
	p := d.Parent()
	if p == nil {
		return tsValue{}, false
	}
	switch p.Type() {
	case "required_parameter", "optional_parameter":
		if p.ChildByFieldName("pattern") == d {
			return r.tsTypeValue(ctx, f, p.ChildByFieldName("type"), depth+1)
		}
	case "public_field_definition", "property_signature", "variable_declarator":
		if p.ChildByFieldName("name") != d {
			return tsValue{}, false
		}
		if t := p.ChildByFieldName("type"); t != nil {
			return r.tsTypeValue(ctx, f, t, depth+1)
		}
		if v := p.ChildByFieldName("value"); v != nil && v.Type() == "new_expression" {
			if c := v.ChildByFieldName("constructor"); c != nil && c.Type() == "identifier" {
				return r.tsNamedValue(ctx, f, c, depth+1)
			}
		}
	}
	return tsValue{}, false
}

// tsTypeValue is an instance of the class or interface a type annotation
// names.
func (r *Resolver) tsTypeValue(ctx context.Context, f *tsFile, t *sitter.Node, depth int) (tsValue, bool) {
	if t == nil {
		return tsValue{}, false
	}
	if t.Type() == "type_annotation" && t.NamedChildCount() == 1 {
		t = t.NamedChild(0)
	}
	if t.Type() == "generic_type" {
		t = t.ChildByFieldName("name")
	}
	if t == nil || t.Type() != "type_identifier" {
		return tsValue{}, false
	}
	return r.tsNamedValue(ctx, f, t, depth+1)
}

// tsNamedValue is an instance of the class or interface the name n
// resolves to.
func (r *Resolver) tsNamedValue(ctx context.Context, f *tsFile, n *sitter.Node, depth int) (tsValue, bool) {
	t, ok := r.tsResolve(ctx, f, n, depth+1)
	if !ok {
		return tsValue{}, false
	}
	m, err := r.openTS(ctx, t.path, nil)
	if err != nil {
		return tsValue{}, false
	}
	d := tsNameAt(m, t.start)
	if d == nil || d.Parent() == nil || d.Parent().ChildByFieldName("name") != d {
		return tsValue{}, false
	}
	switch d.Parent().Type() {
	case "class_declaration", "abstract_class_declaration", "class", "interface_declaration":
		if body := d.Parent().ChildByFieldName("body"); body != nil {
			return tsValue{f: m, body: body}, true
		}
	}
	return tsValue{}, false
}

// tsTypeMember finds name on an instance of v's class or interface.
func (r *Resolver) tsTypeMember(ctx context.Context, v tsValue, name string, call bool, depth int) (target, bool) {
	if v.body.Type() == "interface_body" {
		return r.tsInterfaceMember(ctx, v.f, v.body, name, call, depth+1)
	}
	return r.tsClassMember(ctx, v.f, v.body, name, call, depth+1)
}

// tsInterfaceMember finds name among an interface's properties and
// methods, else in the interfaces it extends (all of which must resolve);
// a call of a method with several signatures is not answered.
func (r *Resolver) tsInterfaceMember(ctx context.Context, f *tsFile, body *sitter.Node, name string, call bool, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	var found *sitter.Node
	signatures := 0
	for i := 0; i < int(body.NamedChildCount()); i++ {
		m := body.NamedChild(i)
		if m.Type() != "property_signature" && m.Type() != "method_signature" {
			continue
		}
		n := m.ChildByFieldName("name")
		if n == nil || n.Type() != "property_identifier" || n.Content(f.src) != name {
			continue
		}
		if m.Type() == "method_signature" {
			signatures++
		}
		if found == nil {
			found = n
		}
	}
	switch {
	case signatures > 1 && call:
		return target{}, false
	case found != nil:
		return f.target(found), true
	}
	ext := tsChildOfType(body.Parent(), "extends_type_clause")
	if ext == nil {
		return target{}, false
	}
	for i := 0; i < int(ext.NamedChildCount()); i++ {
		v, ok := r.tsTypeValue(ctx, f, ext.NamedChild(i), depth+1)
		if !ok {
			return target{}, false // it may declare name
		}
		if t, ok := r.tsTypeMember(ctx, v, name, call, depth+1); ok {
			return t, true
		}
	}
	return target{}, false
}

// tsThisClass returns the class body whose instance this is at n, or nil.
func tsThisClass(n *sitter.Node) *sitter.Node {
	for p := n.Parent(); p != nil; p = p.Parent() {
		switch p.Type() {
		case "function_expression", "function_declaration", "generator_function", "generator_function_declaration",
			"class_static_block", "object":
			return nil
		case "class_body":
			return p
		}
	}
	return nil
}

// tsClassMember finds name among a class body's members (fields, methods,
// accessors, constructor parameter properties), else in the class it
// extends. A call of an overloaded method is not answered: the checker
// picks the signature by the arguments' types.
func (r *Resolver) tsClassMember(ctx context.Context, f *tsFile, body *sitter.Node, name string, call bool, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	var found *sitter.Node
	overloaded := false
	for i := 0; i < int(body.NamedChildCount()); i++ {
		m := body.NamedChild(i)
		switch m.Type() {
		case "method_definition", "public_field_definition", "method_signature", "abstract_method_signature", "property_signature":
		default:
			continue
		}
		n := m.ChildByFieldName("name")
		if n == nil {
			continue
		}
		if n.Content(f.src) == "constructor" && m.Type() == "method_definition" {
			if p := tsParameterProperty(f, m, name); p != nil && found == nil {
				found = p
			}
			continue
		}
		if n.Type() != "property_identifier" || n.Content(f.src) != name {
			continue
		}
		if m.Type() == "method_signature" {
			overloaded = true
			continue
		}
		if found == nil {
			found = n
		}
	}
	switch {
	case overloaded && (call || found == nil):
		return target{}, false
	case found != nil:
		return f.target(found), true
	}
	// The class it extends, when the syntax names one in the workspace.
	heritage := tsChildOfType(body.Parent(), "class_heritage")
	if heritage == nil {
		return target{}, false
	}
	ext := tsChildOfType(heritage, "extends_clause")
	if ext == nil {
		return target{}, false
	}
	base := ext.ChildByFieldName("value")
	if base == nil || base.Type() != "identifier" {
		return target{}, false
	}
	t, ok := r.tsResolve(ctx, f, base, depth+1)
	if !ok {
		return target{}, false
	}
	m, err := r.openTS(ctx, t.path, nil)
	if err != nil {
		return target{}, false
	}
	cls := tsNameAt(m, t.start)
	if cls == nil || cls.Parent() == nil {
		return target{}, false
	}
	switch cls.Parent().Type() {
	case "class_declaration", "abstract_class_declaration", "class":
	default:
		return target{}, false
	}
	b := cls.Parent().ChildByFieldName("body")
	if b == nil {
		return target{}, false
	}
	return r.tsClassMember(ctx, m, b, name, call, depth+1)
}

// tsParameterProperty is the name of constructor(private x) that declares
// the member name.
func tsParameterProperty(f *tsFile, ctor *sitter.Node, name string) *sitter.Node {
	params := ctor.ChildByFieldName("parameters")
	if params == nil {
		return nil
	}
	for i := 0; i < int(params.NamedChildCount()); i++ {
		p := params.NamedChild(i)
		if p.Type() != "required_parameter" && p.Type() != "optional_parameter" {
			continue
		}
		property := false
		for j := 0; j < int(p.ChildCount()); j++ {
			switch p.Child(j).Type() {
			case "accessibility_modifier", "readonly", "override_modifier":
				property = true
			}
		}
		if pat := p.ChildByFieldName("pattern"); property && pat != nil && pat.Type() == "identifier" && pat.Content(f.src) == name {
			return pat
		}
	}
	return nil
}

func tsChildOfType(n *sitter.Node, typ string) *sitter.Node {
	if n == nil {
		return nil
	}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		if c := n.NamedChild(i); c.Type() == typ {
			return c
		}
	}
	return nil
}
