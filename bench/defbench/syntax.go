package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/workspace"
)

// Python and TypeScript have no go/types here, so a use is found by its
// syntax (an identifier outside an import) and gets its category from the
// peer's answer: what the declaration the peer names is (a parameter, a
// local, a module-level name, a class member; in another file of the
// corpus, or outside it). Declarations themselves are left out once the
// peer answers a use with its own position.

// language is what the syntax sampler knows of one language.
type language struct {
	id         string   // the LSP languageId
	exts       []string // files sampled
	grammar    func(path string) *sitter.Language
	identifier map[string]bool // node types that are names
	imports    map[string]bool // statements whose names are not sampled
	member     func(n *sitter.Node) bool
	// classify names the category of a declaration in its own file.
	classify func(decl *sitter.Node) string
}

var languages = map[string]*language{
	"python": {
		id:         "python",
		exts:       []string{".py"},
		grammar:    func(string) *sitter.Language { return python.GetLanguage() },
		identifier: map[string]bool{"identifier": true},
		imports:    map[string]bool{"import_statement": true, "import_from_statement": true, "future_import_statement": true},
		member: func(n *sitter.Node) bool {
			p := n.Parent()
			return p != nil && p.Type() == "attribute" && p.ChildByFieldName("attribute") == n
		},
		classify: classifyPython,
	},
	"typescript": {
		id:   "typescript",
		exts: []string{".ts", ".tsx"},
		grammar: func(path string) *sitter.Language {
			if strings.HasSuffix(path, ".tsx") {
				return tsx.GetLanguage()
			}
			return typescript.GetLanguage()
		},
		identifier: map[string]bool{"identifier": true, "type_identifier": true, "property_identifier": true},
		imports:    map[string]bool{"import_statement": true, "export_clause": true},
		member: func(n *sitter.Node) bool {
			p := n.Parent()
			return p != nil && (p.Type() == "member_expression" && p.ChildByFieldName("property") == n ||
				p.Type() == "nested_type_identifier" && p.ChildByFieldName("name") == n)
		},
		classify: classifyTypeScript,
	},
}

// sampleSyntax draws n identifier uses from the files of root in lang.
func sampleSyntax(root string, lang *language, n int, seed uint64) ([]use, error) {
	var all []use
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !hasExt(path, lang.exts) || strings.HasSuffix(path, ".d.ts") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		tree := parse(lang, path, src)
		if tree == nil {
			return nil
		}
		defer tree.Close()
		lines := workspace.NewLines(string(src))
		walk(tree.RootNode(), func(node *sitter.Node) bool {
			if lang.imports[node.Type()] {
				return false
			}
			if !lang.identifier[node.Type()] {
				return true
			}
			pos, err := lines.Position(int(node.StartByte()), workspace.UTF16)
			if err != nil {
				return true
			}
			all = append(all, use{path: path, name: node.Content(src), member: lang.member(node),
				pos: protocol.Position{Line: uint32(pos.Line), Character: uint32(pos.Character)}})
			return true
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return draw(all, n, seed), nil
}

func hasExt(path string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(path, e) {
			return true
		}
	}
	return false
}

func parse(lang *language, path string, src []byte) *sitter.Tree {
	p := sitter.NewParser()
	defer p.Close()
	p.SetLanguage(lang.grammar(path))
	tree, err := p.ParseCtx(context.Background(), nil, src)
	if err != nil {
		return nil
	}
	return tree
}

// namedAt returns the innermost named node holding off.
func namedAt(n *sitter.Node, off uint32) *sitter.Node {
descend:
	for {
		for i := 0; i < int(n.NamedChildCount()); i++ {
			if c := n.NamedChild(i); c.StartByte() <= off && off < c.EndByte() {
				n = c
				continue descend
			}
		}
		return n
	}
}

// walk visits n and, while visit says so, its named descendants.
func walk(n *sitter.Node, visit func(*sitter.Node) bool) {
	if !visit(n) {
		return
	}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		walk(n.NamedChild(i), visit)
	}
}

// categorizer names the category of a use from the peer's answer, parsing
// each declaring file of the corpus once.
type categorizer struct {
	root  string
	lang  *language
	files map[string]*parsed
}

type parsed struct {
	tree  *sitter.Tree
	lines *workspace.Lines
}

func (c *categorizer) category(u use, decl protocol.Location) string {
	path := decl.URI.FsPath()
	inside := strings.HasPrefix(path, c.root+string(filepath.Separator))
	switch {
	case !inside && u.member:
		return "member of external type"
	case !inside:
		return "external"
	}
	f := c.file(path)
	var node *sitter.Node
	if f != nil {
		if off, err := f.lines.Offset(workspace.Position{Line: int(decl.Range.Start.Line), Character: int(decl.Range.Start.Character)}, workspace.UTF16); err == nil {
			node = namedAt(f.tree.RootNode(), uint32(off))
		}
	}
	kind := "module"
	if node != nil && !(decl.Range.Start.Line == 0 && decl.Range.Start.Character == 0 && decl.Range.End == decl.Range.Start) {
		kind = c.lang.classify(node)
	}
	switch {
	case u.member && kind == "method":
		return "method"
	case u.member:
		return "attribute"
	case path != u.path:
		return "imported"
	case kind == "method" || kind == "attribute":
		return "local" // a class body's own name
	}
	return kind
}

func (c *categorizer) file(path string) *parsed {
	if f, ok := c.files[path]; ok {
		return f
	}
	var f *parsed
	if src, err := os.ReadFile(path); err == nil {
		if tree := parse(c.lang, path, src); tree != nil {
			f = &parsed{tree: tree, lines: workspace.NewLines(string(src))}
		}
	}
	c.files[path] = f
	return f
}

// classifyPython: parameter, local (in a function), module-level, or a
// class's member (method, attribute).
func classifyPython(n *sitter.Node) string {
	for p, child := n.Parent(), n; p != nil; p, child = p.Parent(), p {
		switch p.Type() {
		case "parameters", "lambda_parameters":
			return "parameter"
		case "function_definition":
			if p.ChildByFieldName("name") == child {
				if inClass(p) {
					return "method"
				}
				continue
			}
			return "local"
		case "lambda":
			return "local"
		case "class_definition":
			if p.ChildByFieldName("name") == child {
				continue
			}
			return "attribute"
		case "attribute":
			return "attribute" // self.x = …
		case "module":
			return "module-level"
		}
	}
	return "module-level"
}

// inClass reports whether a def is a class body's.
func inClass(fn *sitter.Node) bool {
	p := fn.Parent()
	if p != nil && p.Type() == "decorated_definition" {
		p = p.Parent()
	}
	return p != nil && p.Type() == "block" && p.Parent() != nil && p.Parent().Type() == "class_definition"
}

// classifyTypeScript: the same for TypeScript's declarations.
func classifyTypeScript(n *sitter.Node) string {
	for p, child := n.Parent(), n; p != nil; p, child = p.Parent(), p {
		switch p.Type() {
		case "required_parameter", "optional_parameter", "formal_parameters", "type_parameter":
			return "parameter"
		case "method_definition", "method_signature", "abstract_method_signature":
			if p.ChildByFieldName("name") == child {
				return "method"
			}
			return "local"
		case "public_field_definition", "property_signature", "enum_body":
			return "attribute"
		case "function_declaration", "generator_function_declaration", "function_expression", "arrow_function", "class_static_block":
			if p.ChildByFieldName("name") == child {
				continue
			}
			return "local"
		case "statement_block":
			return "local"
		case "program":
			return "module-level"
		}
	}
	return "module-level"
}
