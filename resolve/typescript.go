package resolve

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// One query text, compiled for each grammar (JavaScript's lacks the
// TypeScript-only nodes, so it gets the patterns both share).
var (
	tsLocals  = &compiledQuery{file: "typescript.scm", lang: typescript.GetLanguage}
	tsxLocals = &compiledQuery{file: "typescript.scm", lang: tsx.GetLanguage}
	jsLocals  = &compiledQuery{file: "javascript.scm", lang: javascript.GetLanguage}
)

// tsFile is one parsed TypeScript or JavaScript module.
type tsFile struct {
	path   string
	src    []byte
	tree   *sitter.Tree
	root   *sitter.Node
	locals *locals
}

func (f *tsFile) close() {
	if f.tree != nil {
		f.tree.Close()
		f.tree = nil
	}
}

func (f *tsFile) target(n *sitter.Node) target {
	s, bound := f.locals.defs[n.StartByte()]
	return target{path: f.path, start: n.StartByte(), end: n.EndByte(), src: f.src, local: bound && s.kind != "program"}
}

// tsOuter: a function's name is bound around it (a function is a scope
// of its own; a class is not, so its name needs no moving).
func tsOuter(def *sitter.Node) bool {
	p := def.Parent()
	if p == nil || p.ChildByFieldName("name") == nil || p.ChildByFieldName("name").StartByte() != def.StartByte() {
		return false
	}
	switch p.Type() {
	case "function_declaration", "generator_function_declaration":
		return true
	}
	return false
}

func tsGrammar(path string) (*compiledQuery, func() *sitter.Language) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ts", ".mts", ".cts":
		return tsLocals, typescript.GetLanguage
	case ".tsx":
		return tsxLocals, tsx.GetLanguage
	}
	return jsLocals, javascript.GetLanguage
}

func (r *Resolver) openTS(ctx context.Context, path string, src []byte) (*tsFile, error) {
	if f, ok := r.tsfiles[path]; ok && (src == nil || bytes.Equal(f.src, src)) {
		return f, nil
	}
	if src == nil {
		b, err := r.fs.ReadFile(path)
		if err != nil {
			return nil, err
		}
		src = b
	}
	cq, lang := tsGrammar(path)
	q, err := cq.get()
	if err != nil {
		return nil, err
	}
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(lang())
	tree, err := p.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	f := &tsFile{path: path, src: src, tree: tree, root: tree.RootNode()}
	f.locals = buildLocals(q, f.root, src, pyVisible, tsOuter)
	if old, ok := r.tsfiles[path]; ok {
		old.close()
	}
	r.tsfiles[path] = f
	return f, nil
}

// tsDefinitionAt resolves the identifier at off: a binding in the
// enclosing scopes (followed through imports of relative modules), or a
// member of a namespace import. Members of objects are not answered.
func (r *Resolver) tsDefinitionAt(ctx context.Context, f *tsFile, off uint32) (target, bool) {
	n := tsIdentifierAt(f.root, off)
	if n == nil && off > 0 {
		n = tsIdentifierAt(f.root, off-1)
	}
	if n == nil {
		return target{}, false
	}
	t, ok := r.tsResolve(ctx, f, n, 0)
	if ok && tsCallee(n) && r.tsOverloaded(ctx, t) {
		// A call of an overloaded function is the signature the checker
		// picks by the arguments' types, which syntax cannot tell.
		return target{}, false
	}
	return t, ok
}

// tsCallee reports whether n names the function a call or a new
// expression calls (f(…), ns.f(…), new C(…)).
func tsCallee(n *sitter.Node) bool {
	e := n
	if p := n.Parent(); p != nil && p.Type() == "member_expression" && p.ChildByFieldName("property") == n {
		e = p
	}
	p := e.Parent()
	if p == nil {
		return false
	}
	switch p.Type() {
	case "call_expression":
		return p.ChildByFieldName("function") == e
	case "new_expression":
		return p.ChildByFieldName("constructor") == e
	}
	return false
}

// tsOverloaded reports whether t is the name of a function declared with
// overload signatures before it.
func (r *Resolver) tsOverloaded(ctx context.Context, t target) bool {
	m, err := r.openTS(ctx, t.path, nil)
	if err != nil || t.end <= t.start {
		return false
	}
	name := tsNameAt(m, t.start)
	if name == nil || name.Parent() == nil || name.Parent().Type() != "function_declaration" {
		return false
	}
	stmt := name.Parent()
	if p := stmt.Parent(); p != nil && p.Type() == "export_statement" {
		stmt = p
	}
	for s := stmt.PrevNamedSibling(); s != nil; s = s.PrevNamedSibling() {
		if s.Type() == "comment" {
			continue
		}
		d := s
		if s.Type() == "export_statement" {
			d = s.ChildByFieldName("declaration")
		}
		if d == nil || d.Type() != "function_signature" {
			return false
		}
		if n := d.ChildByFieldName("name"); n != nil && n.Content(m.src) == name.Content(m.src) {
			return true
		}
	}
	return false
}

// tsNameAt is the identifier starting at off.
func tsNameAt(f *tsFile, off uint32) *sitter.Node {
	n := tsIdentifierAt(f.root, off)
	if n == nil || n.StartByte() != off {
		return nil
	}
	return n
}

func tsIdentifierAt(root *sitter.Node, off uint32) *sitter.Node {
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
	switch n.Type() {
	case "identifier", "type_identifier", "property_identifier", "shorthand_property_identifier_pattern":
		return n
	}
	return nil
}

func (r *Resolver) tsResolve(ctx context.Context, f *tsFile, n *sitter.Node, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	name := n.Content(f.src)
	parent := n.Parent()
	if parent == nil {
		return target{}, false
	}
	if n.Type() == "property_identifier" && parent.Type() == "method_signature" && parent.ChildByFieldName("name") == n {
		// An overload signature's name in a class: the implementation, as
		// tsserver answers.
		return tsImplementation(f, parent, name)
	}
	if n.Type() == "property_identifier" {
		// ns.member of import * as ns, obj.member of a class or an interface.
		if parent.Type() != "member_expression" || parent.ChildByFieldName("property") != n {
			return target{}, false
		}
		obj := parent.ChildByFieldName("object")
		if obj == nil {
			return target{}, false
		}
		var b *sitter.Node
		if obj.Type() == "identifier" {
			b = pyLookup(f.locals, obj.Content(f.src), obj)
		}
		if b == nil || b.Parent() == nil || b.Parent().Type() != "namespace_import" {
			// A member of what the syntax says obj is an instance of.
			v, ok := r.tsValueOf(ctx, f, obj, depth+1)
			if !ok {
				return target{}, false
			}
			return r.tsTypeMember(ctx, v, name, tsCallee(n), depth+1)
		}
		m := r.tsImportedModule(ctx, f, b)
		if m == nil {
			return target{}, false
		}
		return r.tsExport(ctx, m, name, depth+1)
	}
	if f.locals.isBinding(n) {
		if tsImportBinding(n) {
			return r.tsFollowImport(ctx, f, n, depth+1)
		}
		return f.target(n), true
	}
	if parent.Type() == "import_specifier" {
		// import {x as y}: x names the module's export.
		if alias := parent.ChildByFieldName("alias"); alias != nil {
			return r.tsFollowImport(ctx, f, alias, depth+1)
		}
	}
	b := pyLookup(f.locals, name, n)
	if b == nil {
		return target{}, false
	}
	if tsImportBinding(b) {
		return r.tsFollowImport(ctx, f, b, depth+1)
	}
	return f.target(b), true
}

func tsImportBinding(b *sitter.Node) bool {
	for p := b.Parent(); p != nil; p = p.Parent() {
		switch p.Type() {
		case "import_statement":
			return true
		case "import_clause", "named_imports", "import_specifier", "namespace_import":
			continue
		}
		return false
	}
	return false
}

// tsImportedModule is the file a binding's import statement names, when
// it is a relative path in the workspace.
func (r *Resolver) tsImportedModule(ctx context.Context, f *tsFile, b *sitter.Node) *tsFile {
	stmt := b.Parent()
	for stmt != nil && stmt.Type() != "import_statement" {
		stmt = stmt.Parent()
	}
	if stmt == nil {
		return nil
	}
	srcNode := stmt.ChildByFieldName("source")
	if srcNode == nil {
		return nil
	}
	spec, err := strconv.Unquote(strings.ReplaceAll(srcNode.Content(f.src), "'", `"`))
	if err != nil || !(strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../")) {
		return nil // a package: not followed
	}
	base := filepath.Join(filepath.Dir(f.path), filepath.FromSlash(spec))
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	var cands []string
	for _, ext := range []string{".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs"} {
		cands = append(cands, base+ext, stem+ext)
	}
	cands = append(cands, base)
	for _, ext := range []string{".ts", ".tsx", ".js"} {
		cands = append(cands, filepath.Join(base, "index"+ext))
	}
	for _, c := range cands {
		if c == f.path || languageOf(c) != "typescript" {
			continue
		}
		if m, err := r.openTS(ctx, c, nil); err == nil {
			return m
		}
	}
	return nil
}

// tsFollowImport resolves a name an import binds to the export it names.
func (r *Resolver) tsFollowImport(ctx context.Context, f *tsFile, b *sitter.Node, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	if b.Parent().Type() == "namespace_import" {
		// What tsserver answers: the namespace's own binding (a module
		// has no declaration to point at).
		return f.target(b), true
	}
	m := r.tsImportedModule(ctx, f, b)
	if m == nil {
		return target{}, false
	}
	switch p := b.Parent(); p.Type() {
	case "import_clause":
		return r.tsExport(ctx, m, "default", depth+1)
	case "import_specifier":
		name := p.ChildByFieldName("name")
		if name == nil {
			return target{}, false
		}
		return r.tsExport(ctx, m, name.Content(f.src), depth+1)
	}
	return target{}, false
}

// tsExport finds what module m exports as name: a declaration of its
// top level (export function f, export const x, export {x}), the declaration
// of export default, or a re-export's source followed.
func (r *Resolver) tsExport(ctx context.Context, m *tsFile, name string, depth int) (target, bool) {
	if depth > maxDepth {
		return target{}, false
	}
	for i := 0; i < int(m.root.NamedChildCount()); i++ {
		st := m.root.NamedChild(i)
		if st.Type() != "export_statement" {
			continue
		}
		isDefault := false
		for j := 0; j < int(st.ChildCount()); j++ {
			if st.Child(j).Type() == "default" {
				isDefault = true
			}
		}
		if decl := st.ChildByFieldName("declaration"); decl != nil {
			if isDefault != (name == "default") {
				continue
			}
			for _, d := range tsDeclaredNames(decl) {
				if isDefault || d.Content(m.src) == name {
					return m.target(d), true
				}
			}
			continue
		}
		if v := st.ChildByFieldName("value"); v != nil && isDefault && name == "default" && v.Type() == "identifier" {
			if b := pyLookup(m.locals, v.Content(m.src), v); b != nil {
				return m.target(b), true
			}
		}
		// export { a, b as c }
		for j := 0; j < int(st.NamedChildCount()); j++ {
			clause := st.NamedChild(j)
			if clause.Type() != "export_clause" {
				continue
			}
			for k := 0; k < int(clause.NamedChildCount()); k++ {
				spec := clause.NamedChild(k)
				local, alias := spec.ChildByFieldName("name"), spec.ChildByFieldName("alias")
				exported := local
				if alias != nil {
					exported = alias
				}
				if local == nil || exported.Content(m.src) != name || st.ChildByFieldName("source") != nil {
					continue
				}
				if b := pyLookup(m.locals, local.Content(m.src), local); b != nil {
					if tsImportBinding(b) {
						return r.tsFollowImport(ctx, m, b, depth+1)
					}
					return m.target(b), true
				}
			}
		}
	}
	return target{}, false
}

// tsDeclaredNames are the names a declaration statement declares.
func tsDeclaredNames(decl *sitter.Node) []*sitter.Node {
	switch decl.Type() {
	case "function_declaration", "generator_function_declaration", "class_declaration", "interface_declaration",
		"type_alias_declaration", "enum_declaration", "abstract_class_declaration":
		if n := decl.ChildByFieldName("name"); n != nil {
			return []*sitter.Node{n}
		}
	case "lexical_declaration", "variable_declaration":
		var out []*sitter.Node
		for i := 0; i < int(decl.NamedChildCount()); i++ {
			if d := decl.NamedChild(i); d.Type() == "variable_declarator" {
				if n := d.ChildByFieldName("name"); n != nil && n.Type() == "identifier" {
					out = append(out, n)
				}
			}
		}
		return out
	}
	return nil
}

// tsImplementation finds the method of sig's class body that implements
// the overload signature sig.
func tsImplementation(f *tsFile, sig *sitter.Node, name string) (target, bool) {
	body := sig.Parent()
	if body == nil || body.Type() != "class_body" {
		return target{}, false
	}
	for i := 0; i < int(body.NamedChildCount()); i++ {
		m := body.NamedChild(i)
		if n := m.ChildByFieldName("name"); m.Type() == "method_definition" && n != nil && n.Content(f.src) == name {
			return f.target(n), true
		}
	}
	return target{}, false
}
