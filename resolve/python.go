package resolve

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/python"
)

var pyLocals = &compiledQuery{file: "python.scm", lang: python.GetLanguage}

// pyFile is one parsed Python module.
type pyFile struct {
	path   string
	src    []byte
	tree   *sitter.Tree
	root   *sitter.Node
	locals *locals
}

func (f *pyFile) close() {
	if f.tree != nil {
		f.tree.Close()
		f.tree = nil
	}
}

func (f *pyFile) target(n *sitter.Node) target {
	s, bound := f.locals.defs[n.StartByte()]
	// A class's members are reached from other modules through the class,
	// a function's parameters by keyword arguments.
	local := bound && s.kind != "module" && s.kind != "class_definition" && !pyIsParameter(n)
	return target{path: f.path, start: n.StartByte(), end: n.EndByte(), src: f.src, local: local}
}

// pyIsParameter reports whether n names a def's parameter.
func pyIsParameter(n *sitter.Node) bool {
	p := n.Parent()
	if p != nil && p.Type() != "parameters" {
		p = p.Parent()
	}
	return p != nil && p.Type() == "parameters"
}

// moduleTarget is a module itself: the start of its file.
func (f *pyFile) moduleTarget() target {
	return target{path: f.path, src: f.src}
}

func pyVisible(*sitter.Node) uint32 { return 0 }

// pyOuter: a def's or a class's name is bound around it.
func pyOuter(def *sitter.Node) bool {
	p := def.Parent()
	return p != nil && (p.Type() == "function_definition" || p.Type() == "class_definition") && p.ChildByFieldName("name") == def
}

func (r *Resolver) openPy(ctx context.Context, path string, src []byte) (*pyFile, error) {
	if f, ok := r.pyfiles[path]; ok && (src == nil || bytes.Equal(f.src, src)) {
		return f, nil
	}
	if src == nil {
		b, err := r.fs.ReadFile(path)
		if err != nil {
			return nil, err
		}
		src = b
	}
	q, err := pyLocals.get()
	if err != nil {
		return nil, err
	}
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(python.GetLanguage())
	tree, err := p.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	f := &pyFile{path: path, src: src, tree: tree, root: tree.RootNode()}
	f.locals = buildLocals(q, f.root, src, pyVisible, pyOuter)
	if old, ok := r.pyfiles[path]; ok {
		old.close()
	}
	r.pyfiles[path] = f
	return f, nil
}

// pyLookup finds the binding of name seen at node: in the innermost scope
// that binds it, class bodies skipped from inside their functions; in a
// scope, the last binding before the use, else the first.
func pyLookup(l *locals, name string, at *sitter.Node) *sitter.Node {
	off := at.StartByte()
	inner := l.innermost(off)
	if fn := pyHeader(at); fn != nil {
		// A default, an annotation: evaluated where the def is, so the
		// def's own scope is not seen (def f(str=str): the builtin).
		for inner != nil && inner.start >= fn.StartByte() {
			inner = inner.parent
		}
	}
	for s := inner; s != nil; s = s.parent {
		if s.kind == "class_definition" && s != inner {
			continue
		}
		bs := s.defs[name]
		if len(bs) == 0 {
			continue
		}
		best := bs[0].node
		for _, b := range bs {
			if b.node.StartByte() <= off {
				best = b.node
			}
		}
		return best
	}
	return nil
}

// pyHeader returns the Python def or lambda in whose header (parameters'
// defaults and annotations, return annotation) n is, or nil: n is in no
// def, or in its body, or names a parameter.
func pyHeader(n *sitter.Node) *sitter.Node {
	child := n
	for p := n.Parent(); p != nil; child, p = p, p.Parent() {
		switch p.Type() {
		case "function_definition", "lambda":
			if p.ChildByFieldName("body") == child || p.ChildByFieldName("name") == child {
				return nil
			}
			return p
		case "default_parameter", "typed_default_parameter":
			if p.ChildByFieldName("name") == child {
				return nil
			}
		case "parameters", "lambda_parameters", "typed_parameter":
			if child == n && n.Type() == "identifier" {
				return nil // the parameter itself
			}
		case "block", "module", "class_definition":
			return nil
		}
	}
	return nil
}

// pyDefinitionAt resolves the identifier at off.
func (r *Resolver) pyDefinitionAt(ctx context.Context, f *pyFile, off uint32) (target, bool) {
	n := pyIdentifierAt(f.root, off)
	if n == nil && off > 0 {
		n = pyIdentifierAt(f.root, off-1)
	}
	if n == nil {
		return target{}, false
	}
	return r.pyResolve(ctx, f, n, 0)
}

func pyIdentifierAt(root *sitter.Node, off uint32) *sitter.Node {
	n := root
descend:
	for {
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			if c.StartByte() <= off && off < c.EndByte() {
				n = c
				continue descend
			}
		}
		break
	}
	if n.Type() == "identifier" {
		return n
	}
	return nil
}

func (r *Resolver) pyResolve(ctx context.Context, f *pyFile, n *sitter.Node, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	parent := n.Parent()
	if parent == nil {
		return target{}, false
	}
	name := n.Content(f.src)
	switch parent.Type() {
	case "attribute":
		if parent.ChildByFieldName("attribute") == n {
			v, ok := r.pyValueOf(ctx, f, parent.ChildByFieldName("object"), depth+1)
			if !ok {
				return target{}, false
			}
			return r.pyMember(ctx, v, name, depth+1)
		}
	case "keyword_argument":
		if parent.ChildByFieldName("name") == n {
			return r.pyKeywordParameter(ctx, f, parent, name, depth+1)
		}
	case "dotted_name":
		// import a.b.c: each part names a module; from m import x: x is
		// followed to its declaration.
		return r.pyImportPart(ctx, f, n, depth+1)
	case "aliased_import":
		if parent.ChildByFieldName("alias") == n {
			return r.pyFollowImport(ctx, f, n, depth+1)
		}
	}
	if f.locals.isBinding(n) {
		return f.target(n), true
	}
	b := pyLookup(f.locals, name, n)
	if b == nil {
		return target{}, false
	}
	if isPyImportBinding(b) {
		return r.pyFollowImport(ctx, f, b, depth+1)
	}
	return f.target(b), true
}

// isPyImportBinding reports whether a binding is made by an import.
func isPyImportBinding(b *sitter.Node) bool {
	for p := b.Parent(); p != nil; p = p.Parent() {
		switch p.Type() {
		case "import_statement", "import_from_statement":
			return true
		case "dotted_name", "aliased_import":
			continue
		}
		return false
	}
	return false
}

// pyValue is what an expression is known to be: a module, a class, or an
// instance of a class.
type pyValue struct {
	kind string // "module", "class", "instance"
	f    *pyFile
	n    *sitter.Node // the class's name
}

// pyFollowImport resolves a name an import binds to what it names.
func (r *Resolver) pyFollowImport(ctx context.Context, f *pyFile, b *sitter.Node, depth int) (target, bool) {
	v, ok := r.pyImported(ctx, f, b, depth)
	if !ok {
		return target{}, false
	}
	switch v.kind {
	case "module":
		return v.f.moduleTarget(), true
	case "class":
		return v.f.target(v.n), true
	case "binding":
		return v.f.target(v.n), true
	}
	return target{}, false
}

// pyImported is what an import binding names: a module (import a.b, from
// . import m) or a declaration in a module (from m import x).
func (r *Resolver) pyImported(ctx context.Context, f *pyFile, b *sitter.Node, depth int) (pyValue, bool) {
	if depth > maxDepth {
		return pyValue{}, false
	}
	stmt := b.Parent()
	for stmt != nil && stmt.Type() != "import_statement" && stmt.Type() != "import_from_statement" {
		stmt = stmt.Parent()
	}
	if stmt == nil {
		return pyValue{}, false
	}
	// The imported dotted name this binding stands for.
	item := b.Parent()
	if item.Type() == "dotted_name" || item.Type() == "aliased_import" {
		if item.Type() == "dotted_name" && item.Parent() != nil && item.Parent().Type() == "aliased_import" {
			item = item.Parent()
		}
	}
	dotted := item
	if item.Type() == "aliased_import" {
		dotted = item.ChildByFieldName("name")
	}
	if dotted == nil {
		return pyValue{}, false
	}
	parts := strings.Split(dotted.Content(f.src), ".")
	if stmt.Type() == "import_statement" {
		if item.Type() != "aliased_import" {
			parts = parts[:1] // import a.b binds a
		}
		m := r.pyModule(ctx, f, 0, parts)
		if m == nil {
			return pyValue{}, false
		}
		return pyValue{kind: "module", f: m}, true
	}
	// from [.]M import x
	modNode := stmt.ChildByFieldName("module_name")
	if modNode == nil {
		return pyValue{}, false
	}
	dots, modParts := 0, []string(nil)
	text := modNode.Content(f.src)
	for strings.HasPrefix(text, ".") {
		dots++
		text = text[1:]
	}
	if text != "" {
		modParts = strings.Split(text, ".")
	}
	if len(parts) != 1 {
		return pyValue{}, false
	}
	m := r.pyModule(ctx, f, dots, modParts)
	if m != nil {
		if d := pyLookupModule(m, parts[0]); d != nil {
			if isPyImportBinding(d) {
				return r.pyImported(ctx, m, d, depth+1)
			}
			return pyBindingValue(m, d), true
		}
	}
	// from package import submodule
	if sub := r.pyModule(ctx, f, dots, append(modParts, parts[0])); sub != nil {
		return pyValue{kind: "module", f: sub}, true
	}
	return pyValue{}, false
}

func pyBindingValue(f *pyFile, d *sitter.Node) pyValue {
	if p := d.Parent(); p != nil && p.Type() == "class_definition" && p.ChildByFieldName("name") == d {
		return pyValue{kind: "class", f: f, n: d}
	}
	return pyValue{kind: "binding", f: f, n: d}
}

// pyLookupModule finds a module-level binding of name.
func pyLookupModule(m *pyFile, name string) *sitter.Node {
	for _, s := range m.locals.scopes {
		if s.kind == "module" {
			if bs := s.defs[name]; len(bs) > 0 {
				// A def or a class over an assignment; else the first.
				for _, b := range bs {
					if pyOuter(b.node) {
						return b.node
					}
				}
				return bs[0].node
			}
			return nil
		}
	}
	return nil
}

// pyModule finds the file of a module: relative to f's folder for dots > 0,
// else in the nearest folder above f that holds it.
func (r *Resolver) pyModule(ctx context.Context, f *pyFile, dots int, parts []string) *pyFile {
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, `/\`) || p == ".." {
			return nil
		}
	}
	var bases []string
	dir := filepath.Dir(f.path)
	if dots > 0 {
		for i := 1; i < dots; i++ {
			dir = filepath.Dir(dir)
		}
		bases = []string{dir}
	} else {
		// An absolute import is found from sys.path, which holds the
		// folder above the outermost package, never a package's own
		// folder (asyncio/base_subprocess.py's import subprocess is the
		// standard library's, not asyncio/subprocess.py).
		for r.pyIsPackage(dir) && filepath.Dir(dir) != dir {
			dir = filepath.Dir(dir)
		}
		for d := dir; ; d = filepath.Dir(d) {
			bases = append(bases, d)
			if filepath.Dir(d) == d || len(bases) > 32 {
				break
			}
		}
	}
	rel := filepath.Join(parts...)
	for _, base := range bases {
		var cands []string
		if len(parts) == 0 {
			cands = []string{filepath.Join(base, "__init__.py")}
		} else {
			cands = []string{filepath.Join(base, rel+".py"), filepath.Join(base, rel, "__init__.py"), filepath.Join(base, rel+".pyi")}
		}
		for _, c := range cands {
			if c == f.path {
				continue
			}
			if m, err := r.openPy(ctx, c, nil); err == nil {
				return m
			}
		}
	}
	return nil
}

// pyIsPackage reports whether dir is a regular package (has an
// __init__.py).
func (r *Resolver) pyIsPackage(dir string) bool {
	if is, ok := r.pypkgs[dir]; ok {
		return is
	}
	entries, _ := r.fs.ReadDir(dir)
	is := false
	for _, e := range entries {
		if e.Name() == "__init__.py" && !e.IsDir() {
			is = true
		}
	}
	r.pypkgs[dir] = is
	return is
}

// pyImportPart resolves a part of a dotted import name.
func (r *Resolver) pyImportPart(ctx context.Context, f *pyFile, n *sitter.Node, depth int) (target, bool) {
	dotted := n.Parent()
	stmt := dotted.Parent()
	if stmt != nil && stmt.Type() == "aliased_import" {
		stmt = stmt.Parent()
	}
	if stmt == nil {
		return target{}, false
	}
	// Which part: the names up to n.
	var parts []string
	for i := 0; i < int(dotted.NamedChildCount()); i++ {
		c := dotted.NamedChild(i)
		parts = append(parts, c.Content(f.src))
		if c == n {
			break
		}
	}
	switch stmt.Type() {
	case "import_statement":
		if m := r.pyModule(ctx, f, 0, parts); m != nil {
			return m.moduleTarget(), true
		}
	case "import_from_statement":
		if stmt.ChildByFieldName("module_name") == dotted {
			if m := r.pyModule(ctx, f, 0, parts); m != nil {
				return m.moduleTarget(), true
			}
			return target{}, false
		}
		// from m import x [as y]: x stands for what m declares.
		b := n
		if p := dotted.Parent(); p.Type() == "aliased_import" {
			b = p.ChildByFieldName("alias")
		}
		if b != nil && f.locals.isBinding(b) {
			return r.pyFollowImport(ctx, f, b, depth)
		}
	case "relative_import":
		dots := strings.Count(stmt.Content(f.src), ".") - strings.Count(dotted.Content(f.src), ".")
		if m := r.pyModule(ctx, f, dots, parts); m != nil {
			return m.moduleTarget(), true
		}
	}
	return target{}, false
}

// pyValueOf says what an expression is, where the syntax tells.
func (r *Resolver) pyValueOf(ctx context.Context, f *pyFile, e *sitter.Node, depth int) (pyValue, bool) {
	if e == nil || depth > maxDepth {
		return pyValue{}, false
	}
	switch e.Type() {
	case "parenthesized_expression":
		return r.pyValueOf(ctx, f, e.NamedChild(0), depth+1)
	case "identifier":
		b := pyLookup(f.locals, e.Content(f.src), e)
		if b == nil {
			return pyValue{}, false
		}
		return r.pyBindingOf(ctx, f, b, depth+1)
	case "attribute":
		v, ok := r.pyValueOf(ctx, f, e.ChildByFieldName("object"), depth+1)
		if !ok {
			return pyValue{}, false
		}
		t, ok := r.pyMember(ctx, v, e.ChildByFieldName("attribute").Content(f.src), depth+1)
		if !ok {
			return pyValue{}, false
		}
		m, err := r.openPy(ctx, t.path, nil)
		if err != nil {
			return pyValue{}, false
		}
		if t.start == 0 && t.end == 0 {
			return pyValue{kind: "module", f: m}, true
		}
		n := pyNodeAt(m, t.start)
		if n == nil {
			return pyValue{}, false
		}
		return r.pyBindingOf(ctx, m, n, depth+1)
	case "call":
		if v, ok := pySuper(f, e); ok {
			return v, true
		}
		v, ok := r.pyValueOf(ctx, f, e.ChildByFieldName("function"), depth+1)
		if ok && v.kind == "class" {
			return pyValue{kind: "instance", f: v.f, n: v.n}, true
		}
	}
	return pyValue{}, false
}

func pyNodeAt(f *pyFile, off uint32) *sitter.Node {
	return pyIdentifierAt(f.root, off)
}

// pyBindingOf says what a binding holds: a module or class it imports, a
// class it declares, an instance its annotation or its value's call names,
// self in a method.
func (r *Resolver) pyBindingOf(ctx context.Context, f *pyFile, b *sitter.Node, depth int) (pyValue, bool) {
	if depth > maxDepth {
		return pyValue{}, false
	}
	if isPyImportBinding(b) {
		return r.pyImported(ctx, f, b, depth+1)
	}
	p := b.Parent()
	if p == nil {
		return pyValue{}, false
	}
	switch p.Type() {
	case "class_definition":
		return pyValue{kind: "class", f: f, n: b}, true
	case "parameters":
		// self (or cls) of a method: the first parameter of a def in a
		// class body.
		fn := p.Parent()
		if class := pyMethodClass(fn); class != nil && p.NamedChild(0) == b && !pyDecorated(fn, f.src, "staticmethod") {
			cls := class.ChildByFieldName("name")
			if pyDecorated(fn, f.src, "classmethod") {
				return pyValue{kind: "class", f: f, n: cls}, true
			}
			return pyValue{kind: "instance", f: f, n: cls}, true
		}
	case "typed_parameter", "typed_default_parameter":
		return r.pyAnnotated(ctx, f, p.ChildByFieldName("type"), depth+1)
	case "assignment":
		if t := p.ChildByFieldName("type"); t != nil {
			return r.pyAnnotated(ctx, f, t, depth+1)
		}
		if p.ChildByFieldName("left") == b {
			return r.pyValueOf(ctx, f, p.ChildByFieldName("right"), depth+1)
		}
	}
	return pyValue{}, false
}

// pyDecorated reports whether a def carries @name.
func pyDecorated(fn *sitter.Node, src []byte, name string) bool {
	d := fn.Parent()
	if d == nil || d.Type() != "decorated_definition" {
		return false
	}
	for i := 0; i < int(d.NamedChildCount()); i++ {
		if c := d.NamedChild(i); c.Type() == "decorator" && strings.TrimSpace(strings.TrimPrefix(c.Content(src), "@")) == name {
			return true
		}
	}
	return false
}

// pyAnnotated is an instance of the class an annotation names (C, m.C,
// "C" not followed).
func (r *Resolver) pyAnnotated(ctx context.Context, f *pyFile, t *sitter.Node, depth int) (pyValue, bool) {
	if t == nil {
		return pyValue{}, false
	}
	if t.Type() == "type" && t.NamedChildCount() == 1 {
		t = t.NamedChild(0)
	}
	v, ok := r.pyValueOf(ctx, f, t, depth+1)
	if !ok || v.kind != "class" {
		return pyValue{}, false
	}
	return pyValue{kind: "instance", f: v.f, n: v.n}, true
}

// pyMember finds name on a value: a module's top-level binding or
// submodule, a class's (or an instance's) member through its bases, or an
// attribute its methods assign to self.
func (r *Resolver) pyMember(ctx context.Context, v pyValue, name string, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	switch v.kind {
	case "module":
		if d := pyLookupModule(v.f, name); d != nil {
			if isPyImportBinding(d) {
				return r.pyFollowImport(ctx, v.f, d, depth+1)
			}
			return v.f.target(d), true
		}
		if strings.HasSuffix(v.f.path, "__init__.py") {
			if sub := r.pyModule(ctx, v.f, 1, []string{name}); sub != nil {
				return sub.moduleTarget(), true
			}
		}
	case "class", "instance":
		return r.pyClassMember(ctx, v.f, v.n, name, v.kind == "instance", depth+1)
	case "super":
		return r.pyBasesMember(ctx, v.f, v.n.Parent(), name, true, depth+1)
	}
	return target{}, false
}

func (r *Resolver) pyClassMember(ctx context.Context, f *pyFile, cls *sitter.Node, name string, instance bool, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	def := cls.Parent()
	for _, s := range f.locals.scopes {
		if s.start == def.StartByte() && s.end == def.EndByte() {
			if bs := s.defs[name]; len(bs) > 0 {
				return f.target(bs[0].node), true
			}
			break
		}
	}
	if instance {
		if slots, ok := pySlots(f, def); ok {
			// pyright declares a slotted attribute at its __slots__ entry.
			if n := slots[name]; n != nil {
				return target{path: f.path, start: n.StartByte(), end: n.EndByte(), src: f.src}, true
			}
		} else if n := pySelfAssignment(f, def, name); n != nil {
			return f.target(n), true
		}
	}
	return r.pyBasesMember(ctx, f, def, name, instance, depth)
}

// pyBasesMember finds name in the classes def derives from, in order,
// depth first; a base that cannot be resolved ends the search, since it
// may be the one that declares name.
func (r *Resolver) pyBasesMember(ctx context.Context, f *pyFile, def *sitter.Node, name string, instance bool, depth int) (target, bool) {
	if bases := def.ChildByFieldName("superclasses"); bases != nil {
		for i := 0; i < int(bases.NamedChildCount()); i++ {
			base := bases.NamedChild(i)
			if base.Type() == "keyword_argument" || pyIgnoredBase(f, base) {
				continue // metaclass=…, object, Generic[T]
			}
			v, ok := r.pyValueOf(ctx, f, base, depth+1)
			if !ok || v.kind != "class" {
				return target{}, false
			}
			if t, ok := r.pyClassMember(ctx, v.f, v.n, name, instance, depth+1); ok {
				return t, true
			}
			if !r.pyAncestorsKnown(ctx, v.f, v.n.Parent(), depth+1) {
				return target{}, false // the next base comes after them
			}
		}
	}
	return target{}, false
}

// pySelfAssignment finds self.name = … in the class's methods, __init__'s
// first.
func pySelfAssignment(f *pyFile, def *sitter.Node, name string) *sitter.Node {
	body := def.ChildByFieldName("body")
	if body == nil {
		return nil
	}
	var found, inInit *sitter.Node
	for i := 0; i < int(body.NamedChildCount()); i++ {
		fn := body.NamedChild(i)
		if fn.Type() == "decorated_definition" {
			fn = fn.ChildByFieldName("definition")
		}
		if fn == nil || fn.Type() != "function_definition" {
			continue
		}
		params := fn.ChildByFieldName("parameters")
		if params == nil || params.NamedChildCount() == 0 || params.NamedChild(0).Type() != "identifier" {
			continue
		}
		self := params.NamedChild(0).Content(f.src)
		eachDescendant(fn, "assignment", func(a *sitter.Node) {
			left := a.ChildByFieldName("left")
			if left == nil {
				return
			}
			targets := []*sitter.Node{left}
			if left.Type() == "pattern_list" || left.Type() == "tuple_pattern" {
				// (self.host, self.port) = …
				targets = targets[:0]
				for i := 0; i < int(left.NamedChildCount()); i++ {
					targets = append(targets, left.NamedChild(i))
				}
			}
			for _, t := range targets {
				if t.Type() != "attribute" {
					continue
				}
				obj, attr := t.ChildByFieldName("object"), t.ChildByFieldName("attribute")
				if obj == nil || attr == nil || obj.Content(f.src) != self || attr.Content(f.src) != name {
					continue
				}
				if found == nil {
					found = attr
				}
				if inInit == nil && fn.ChildByFieldName("name").Content(f.src) == "__init__" {
					inInit = attr
				}
			}
		})
	}
	if inInit != nil {
		return inInit
	}
	return found
}
