package resolve

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/golang"
)

var goLocals = &compiledQuery{file: "go.scm", lang: golang.GetLanguage}

// goFile is one parsed Go file.
type goFile struct {
	path    string
	src     []byte
	tree    *sitter.Tree
	root    *sitter.Node
	locals  *locals
	pkgName string
	imports []goImport
	pkg     *goPackage // set when a package holding the file is loaded
}

type goImport struct {
	name string // "" when the package's own name is used
	path string
}

func (f *goFile) close() {
	if f.tree != nil {
		f.tree.Close()
		f.tree = nil
	}
}

// goPackage is the top level of one package: its files' declarations.
type goPackage struct {
	dir     string
	name    string
	files   []*goFile
	decls   map[string]decl
	methods map[string]map[string]decl // receiver type -> method -> name
	// frozen: kept by a Cache across resolvers (a folder nobody edits),
	// under cacheKey.
	frozen   bool
	cacheKey string
}

// decl is a declaring identifier in its file.
type decl struct {
	f *goFile
	n *sitter.Node
}

func (d decl) ok() bool { return d.f != nil && d.n != nil }

func (d decl) name() string { return d.n.Content(d.f.src) }

func (d decl) same(o decl) bool {
	return d.f.path == o.f.path && d.n.StartByte() == o.n.StartByte()
}

func (d decl) location() Location {
	return Location{Path: d.f.path, Start: int(d.n.StartByte()), End: int(d.n.EndByte()), Source: d.f.src}
}

// goVisible: a parameter, receiver, type parameter or local type is seen in
// its whole scope; a variable or constant after its declaring statement.
func goVisible(def *sitter.Node) uint32 {
	p := def.Parent()
	for p != nil {
		switch p.Type() {
		case "parameter_declaration", "variadic_parameter_declaration", "type_parameter_declaration",
			"type_spec", "type_alias":
			return 0
		case "short_var_declaration", "var_spec", "const_spec", "range_clause", "receive_statement":
			return p.EndByte()
		case "expression_list":
			p = p.Parent()
			continue
		}
		return def.EndByte()
	}
	return def.EndByte()
}

// openGo parses the file at path (src, or its text read through the FS
// when src is nil), once per resolver.
func (r *Resolver) openGo(ctx context.Context, path string, src []byte) (*goFile, error) {
	if f, ok := r.gofiles[path]; ok && (src == nil || bytes.Equal(f.src, src)) {
		return f, nil
	}
	if src == nil {
		b, err := r.fs.ReadFile(path)
		if err != nil {
			return nil, err
		}
		src = b
	}
	if r.cache != nil {
		if f := r.cache.get(path, src); f != nil {
			if f.pkg != nil && f.pkg.frozen {
				return f, nil // its package owns it
			}
			if old, ok := r.gofiles[path]; ok && old != f && r.cache.get(path, old.src) != old {
				old.close()
			}
			r.gofiles[path] = f
			return f, nil
		}
	}
	q, err := goLocals.get()
	if err != nil {
		return nil, err
	}
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(golang.GetLanguage())
	tree, err := p.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	f := &goFile{path: path, src: src, tree: tree, root: tree.RootNode()}
	f.locals = buildLocals(q, f.root, src, goVisible, nil)
	for i := 0; i < int(f.root.NamedChildCount()); i++ {
		c := f.root.NamedChild(i)
		switch c.Type() {
		case "package_clause":
			if id := c.NamedChild(0); id != nil {
				f.pkgName = id.Content(src)
			}
		case "import_declaration":
			eachDescendant(c, "import_spec", func(s *sitter.Node) {
				imp := goImport{}
				if n := s.ChildByFieldName("name"); n != nil {
					imp.name = n.Content(src)
				}
				if pth := s.ChildByFieldName("path"); pth != nil {
					imp.path, _ = strconv.Unquote(pth.Content(src))
				}
				if imp.path != "" {
					f.imports = append(f.imports, imp)
				}
			})
		}
	}
	if old, ok := r.gofiles[path]; ok && (r.cache == nil || r.cache.get(path, old.src) != old) {
		old.close() // an edited buffer replaces what was read
	}
	r.gofiles[path] = f
	return f, nil
}

// fieldChildren returns the children of n in field (several: a, b int).
// FieldNameForChild counts every child, named or not.
func fieldChildren(n *sitter.Node, field string) []*sitter.Node {
	var out []*sitter.Node
	for i := 0; i < int(n.ChildCount()); i++ {
		if n.FieldNameForChild(i) == field {
			out = append(out, n.Child(i))
		}
	}
	return out
}

func eachDescendant(n *sitter.Node, typ string, fn func(*sitter.Node)) {
	for i := 0; i < int(n.NamedChildCount()); i++ {
		c := n.NamedChild(i)
		if c.Type() == typ {
			fn(c)
		} else {
			eachDescendant(c, typ, fn)
		}
	}
}

// buildContext matches files to the default build configuration (GOOS,
// GOARCH, build tags) as go/build does, reading through the FS.
func (r *Resolver) buildContext() *build.Context {
	ctx := build.Default
	ctx.GOROOT = r.goroot
	ctx.CgoEnabled = true
	ctx.OpenFile = func(p string) (io.ReadCloser, error) {
		b, err := r.fs.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	ctx.ReadDir = func(dir string) ([]fs.FileInfo, error) {
		ents, err := r.fs.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		out := make([]fs.FileInfo, 0, len(ents))
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				out = append(out, info)
			}
		}
		return out, nil
	}
	return &ctx
}

// loadPackage loads the package named name (any when "") in dir: its Go
// files that build by default, test files too when tests.
func (r *Resolver) loadPackage(ctx context.Context, dir, name string, tests bool) *goPackage {
	key := dir + "\x00" + name + "\x00" + strconv.FormatBool(tests)
	if p, ok := r.pkgs[key]; ok {
		return p
	}
	immutable := r.cache != nil && r.immutable(dir)
	if immutable {
		if p := r.cache.pkg(key); p != nil {
			r.pkgs[key] = p
			return p
		}
	}
	r.pkgs[key] = nil // a cycle of loads ends here
	ents, err := r.fs.ReadDir(dir)
	if err != nil {
		return nil
	}
	bc := r.buildContext()
	p := &goPackage{dir: dir, name: name, decls: map[string]decl{}, methods: map[string]map[string]decl{}}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || (!tests && strings.HasSuffix(n, "_test.go")) {
			continue
		}
		full := filepath.Join(dir, n)
		if _, open := r.gofiles[full]; !open {
			if ok, err := bc.MatchFile(dir, n); err != nil || !ok {
				continue
			}
		}
		f, err := r.openGo(ctx, full, nil)
		if err != nil {
			continue
		}
		if p.name == "" && f.pkgName != "" && !strings.HasSuffix(f.pkgName, "_test") && f.pkgName != "documentation" {
			p.name = f.pkgName
		}
		if f.pkgName != p.name {
			continue
		}
		p.files = append(p.files, f)
	}
	for _, f := range p.files {
		f.pkg = p
		p.collect(f)
	}
	r.pkgs[key] = p
	if immutable {
		for _, f := range p.files {
			delete(r.gofiles, f.path) // the package owns them now
		}
		r.cache.putPkg(key, p)
	}
	return p
}

// packageFiles lists the files of the package declaring in the file at
// path, when that package is beneath GOROOT or the module cache.
func (r *Resolver) packageFiles(ctx context.Context, path string) []string {
	if !r.immutable(filepath.Dir(path)) {
		return nil
	}
	f, err := r.openGo(ctx, path, nil)
	if err != nil {
		return nil
	}
	p := r.packageOf(ctx, f)
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.files))
	for _, g := range p.files {
		out = append(out, g.path)
	}
	return out
}

// immutable reports whether dir is beneath GOROOT or the module cache.
func (r *Resolver) immutable(dir string) bool {
	for _, root := range []string{r.goroot, r.modcache} {
		if root != "" && (dir == root || strings.HasPrefix(dir, root+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// collect adds the top-level declarations of f.
func (p *goPackage) collect(f *goFile) {
	add := func(n *sitter.Node) {
		if n == nil {
			return
		}
		name := n.Content(f.src)
		if name == "_" {
			return
		}
		if _, dup := p.decls[name]; !dup {
			p.decls[name] = decl{f, n}
		}
	}
	for i := 0; i < int(f.root.NamedChildCount()); i++ {
		c := f.root.NamedChild(i)
		switch c.Type() {
		case "function_declaration":
			add(c.ChildByFieldName("name"))
		case "method_declaration":
			recv := receiverTypeName(c, f.src)
			name := c.ChildByFieldName("name")
			if recv == "" || name == nil {
				continue
			}
			if p.methods[recv] == nil {
				p.methods[recv] = map[string]decl{}
			}
			p.methods[recv][name.Content(f.src)] = decl{f, name}
		case "type_declaration":
			for j := 0; j < int(c.NamedChildCount()); j++ {
				if s := c.NamedChild(j); s.Type() == "type_spec" || s.Type() == "type_alias" {
					add(s.ChildByFieldName("name"))
				}
			}
		case "var_declaration", "const_declaration":
			eachSpec(c, func(s *sitter.Node) {
				for _, n := range fieldChildren(s, "name") {
					add(n)
				}
			})
		}
	}
}

// eachSpec calls fn for each var_spec or const_spec under a declaration.
func eachSpec(n *sitter.Node, fn func(*sitter.Node)) {
	for i := 0; i < int(n.NamedChildCount()); i++ {
		c := n.NamedChild(i)
		switch c.Type() {
		case "var_spec", "const_spec":
			fn(c)
		case "var_spec_list", "const_spec_list":
			eachSpec(c, fn)
		}
	}
}

// receiverTypeName is T of func (r *T[K]) M().
func receiverTypeName(m *sitter.Node, src []byte) string {
	recv := m.ChildByFieldName("receiver")
	if recv == nil || recv.NamedChildCount() == 0 {
		return ""
	}
	t := recv.NamedChild(0).ChildByFieldName("type")
	for t != nil {
		switch t.Type() {
		case "pointer_type", "parenthesized_type":
			t = t.NamedChild(0)
		case "generic_type":
			t = t.ChildByFieldName("type")
		case "type_identifier":
			return t.Content(src)
		default:
			return ""
		}
	}
	return ""
}

// packageOf returns the package of a file: the one it was loaded with, or
// its folder's (the asking file's package; test files see the others).
func (r *Resolver) packageOf(ctx context.Context, f *goFile) *goPackage {
	if f.pkg != nil {
		return f.pkg
	}
	p := r.loadPackage(ctx, filepath.Dir(f.path), f.pkgName, strings.HasSuffix(f.path, "_test.go"))
	if p != nil && p.frozen {
		return p // a kept package is never added to
	}
	if p != nil && f.pkg == nil {
		// The file was not among those that build (a tag, or an external
		// test package): it still sees its package's declarations.
		f.pkg = p
		if !p.has(f) {
			p.files = append(p.files, f)
			p.collect(f)
		}
	}
	return p
}

func (p *goPackage) has(f *goFile) bool {
	for _, g := range p.files {
		if g == f {
			return true
		}
	}
	return false
}

// importedPackage returns the package a file's import names, or nil.
func (r *Resolver) importedPackage(ctx context.Context, f *goFile, imp goImport) *goPackage {
	dir := r.importDir(filepath.Dir(f.path), imp.path)
	if dir == "" {
		return nil
	}
	return r.loadPackage(ctx, dir, "", false)
}

// importNamed returns the import of f that binds name.
func (r *Resolver) importNamed(ctx context.Context, f *goFile, name string) (goImport, bool) {
	var unsure []goImport
	for _, imp := range f.imports {
		if imp.name == name {
			return imp, true
		}
		if imp.name == "" {
			if guessPackageName(imp.path) == name {
				return imp, true
			}
			unsure = append(unsure, imp)
		}
	}
	// A package whose name is not its path's last element (go-yaml,
	// v2 suffixes): read its package clause.
	for _, imp := range unsure {
		if p := r.importedPackage(ctx, f, imp); p != nil && p.name == name {
			return imp, true
		}
	}
	return goImport{}, false
}

// guessPackageName is the last element of an import path, a major version
// suffix skipped.
func guessPackageName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(p))
	}
	return base
}

// builtin returns Go's predeclared names (GOROOT/src/builtin).
func (r *Resolver) builtin(ctx context.Context) *goPackage {
	if r.goroot == "" {
		return nil
	}
	return r.loadPackage(ctx, filepath.Join(r.goroot, "src", "builtin"), "builtin", false)
}

// lookupName finds the declaration name refers to at node in f: a local
// binding, a package-level declaration, a predeclared name. isPkg reports
// a name that is one of the file's imports.
func (r *Resolver) lookupName(ctx context.Context, f *goFile, name string, at *sitter.Node) (d decl, isPkg bool) {
	if n := f.locals.lookup(name, at.StartByte()); n != nil {
		return decl{f, f.locals.redeclared(n, name)}, false
	}
	if p := r.packageOf(ctx, f); p != nil {
		if d, ok := p.decls[name]; ok {
			return d, false
		}
	}
	if _, ok := r.importNamed(ctx, f, name); ok {
		return decl{}, true
	}
	if b := r.builtin(ctx); b != nil {
		if d, ok := b.decls[name]; ok {
			return d, false
		}
	}
	return decl{}, false
}

// goDefinitionAt resolves the identifier at off.
func (r *Resolver) goDefinitionAt(ctx context.Context, f *goFile, off uint32) (decl, bool) {
	n := identifierAt(f.root, off)
	if n == nil && off > 0 {
		n = identifierAt(f.root, off-1) // the cursor just after the name
	}
	if n == nil {
		return decl{}, false
	}
	d := r.goResolve(ctx, f, n, 0)
	return d, d.ok()
}

func identifierAt(root *sitter.Node, off uint32) *sitter.Node {
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
	case "identifier", "type_identifier", "field_identifier", "package_identifier", "nil", "true", "false", "iota":
		return n
	}
	return nil
}

const maxDepth = 12

// goResolve resolves an identifier node.
func (r *Resolver) goResolve(ctx context.Context, f *goFile, n *sitter.Node, depth int) decl {
	if depth > maxDepth {
		return decl{}
	}
	name := n.Content(f.src)
	parent := n.Parent()
	if parent == nil {
		return decl{}
	}
	if f.locals.isBinding(n) {
		return decl{f, f.locals.redeclared(n, name)}
	}
	if isDeclName(n, parent) {
		return decl{f, n}
	}
	switch parent.Type() {
	case "selector_expression":
		if parent.ChildByFieldName("field") == n {
			return r.selectorMember(ctx, f, parent, depth)
		}
	case "qualified_type":
		if parent.ChildByFieldName("name") == n {
			return r.qualifiedMember(ctx, f, parent)
		}
		return decl{} // the package name
	case "literal_element":
		if kv := parent.Parent(); kv != nil && kv.Type() == "keyed_element" && kv.NamedChild(0) == parent {
			return r.keyedField(ctx, f, kv, name, depth)
		}
	}
	switch n.Type() {
	case "field_identifier", "package_identifier":
		return decl{}
	case "nil", "true", "false", "iota":
		if b := r.builtin(ctx); b != nil {
			return b.decls[name]
		}
		return decl{}
	}
	d, _ := r.lookupName(ctx, f, name, n)
	return d
}

// isDeclName reports whether n is the name a declaration declares.
func isDeclName(n, parent *sitter.Node) bool {
	switch parent.Type() {
	case "function_declaration", "method_declaration", "type_spec", "type_alias", "method_elem", "method_spec":
		return parent.ChildByFieldName("name") == n
	case "var_spec", "const_spec", "field_declaration":
		for _, c := range fieldChildren(parent, "name") {
			if c.StartByte() == n.StartByte() {
				return true
			}
		}
	}
	return false
}

// packageQualifier returns the package an operand names when it is an
// import of f not shadowed by a declaration.
func (r *Resolver) packageQualifier(ctx context.Context, f *goFile, operand *sitter.Node) *goPackage {
	if operand.Type() != "identifier" && operand.Type() != "package_identifier" {
		return nil
	}
	d, isPkg := r.lookupName(ctx, f, operand.Content(f.src), operand)
	if d.ok() || !isPkg {
		return nil
	}
	imp, _ := r.importNamed(ctx, f, operand.Content(f.src))
	return r.importedPackage(ctx, f, imp)
}

// selectorMember resolves x.f: a member of package x, or of x's type.
func (r *Resolver) selectorMember(ctx context.Context, f *goFile, sel *sitter.Node, depth int) decl {
	operand, field := sel.ChildByFieldName("operand"), sel.ChildByFieldName("field")
	if operand == nil || field == nil {
		return decl{}
	}
	name := field.Content(f.src)
	if p := r.packageQualifier(ctx, f, operand); p != nil {
		if !isExported(name) {
			return decl{}
		}
		return p.decls[name]
	}
	t, ok := r.typeOf(ctx, f, operand, depth+1)
	if !ok {
		return decl{}
	}
	return r.member(ctx, t, name, false, depth+1)
}

func (r *Resolver) qualifiedMember(ctx context.Context, f *goFile, q *sitter.Node) decl {
	pkg, name := q.ChildByFieldName("package"), q.ChildByFieldName("name")
	if pkg == nil || name == nil {
		return decl{}
	}
	p := r.packageQualifier(ctx, f, pkg)
	if p == nil {
		return decl{}
	}
	return p.decls[name.Content(f.src)]
}

// keyedField resolves the key of T{Key: v}: a field when T is a struct;
// a map's keys are expressions.
func (r *Resolver) keyedField(ctx context.Context, f *goFile, kv *sitter.Node, name string, depth int) decl {
	lit := kv.Parent()
	if lit == nil || lit.Type() != "literal_value" {
		return decl{}
	}
	t, ok := r.literalType(ctx, f, lit, depth+1)
	if !ok {
		return decl{}
	}
	u, ok := r.underlying(ctx, t, depth+1)
	if !ok {
		return decl{}
	}
	switch u.n.Type() {
	case "struct_type":
		return r.member(ctx, t, name, true, depth+1)
	case "map_type", "slice_type", "array_type":
		// A key expression: resolved as any name.
		key := kv.NamedChild(0).NamedChild(0)
		if key == nil {
			return decl{}
		}
		d, _ := r.lookupName(ctx, f, name, key)
		return d
	}
	return decl{}
}

// literalType is the type of a literal_value: its composite literal's, or
// for an elided inner literal ([]T{{...}}) the outer's element type.
func (r *Resolver) literalType(ctx context.Context, f *goFile, lit *sitter.Node, depth int) (goType, bool) {
	if depth > maxDepth {
		return goType{}, false
	}
	p := lit.Parent()
	if p == nil {
		return goType{}, false
	}
	switch p.Type() {
	case "composite_literal":
		if t := p.ChildByFieldName("type"); t != nil {
			return goType{f, t}, true
		}
	case "literal_element":
		kv := p.Parent()
		outerLit := kv
		isKey := false
		if kv != nil && kv.Type() == "keyed_element" {
			isKey = kv.NamedChild(0) == p
			outerLit = kv.Parent()
		}
		if outerLit == nil || outerLit.Type() != "literal_value" {
			return goType{}, false
		}
		outer, ok := r.literalType(ctx, f, outerLit, depth+1)
		if !ok {
			return goType{}, false
		}
		u, ok := r.underlying(ctx, outer, depth+1)
		if !ok {
			return goType{}, false
		}
		switch u.n.Type() {
		case "slice_type", "array_type", "implicit_length_array_type":
			if e := u.n.ChildByFieldName("element"); e != nil && !isKey {
				return goType{u.f, e}, true
			}
		case "map_type":
			field := "value"
			if isKey {
				field = "key"
			}
			if e := u.n.ChildByFieldName(field); e != nil {
				return goType{u.f, e}, true
			}
		}
	}
	return goType{}, false
}
