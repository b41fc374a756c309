package resolve

import (
	"context"

	sitter "github.com/smacker/go-tree-sitter"
)

// Members of TypeScript classes, where the syntax says which class: this
// in a class's methods and field initialisers (arrow functions keep the
// class's this; other functions, object literals and static blocks have
// their own, and are not answered).

// tsThisMember resolves this.name (prop) to the member of the class this
// is an instance of.
func (r *Resolver) tsThisMember(ctx context.Context, f *tsFile, this, prop *sitter.Node, depth int) (target, bool) {
	body := tsThisClass(this)
	if body == nil {
		return target{}, false
	}
	return r.tsClassMember(ctx, f, body, prop.Content(f.src), tsCallee(prop), depth+1)
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
