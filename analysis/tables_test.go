package analysis

import (
	"context"
	"strings"
	"testing"

	sitter "github.com/smacker/go-tree-sitter"
)

// The tags queries must be real tree-sitter queries (node types and fields
// exist in the grammar), and our compiler must accept them too.
func TestTagsQueriesCompile(t *testing.T) {
	for _, spec := range languageTable {
		t.Run(spec.name, func(t *testing.T) {
			q, err := sitter.NewQuery([]byte(spec.tags), spec.grammar())
			if err != nil {
				t.Fatalf("tree-sitter rejects the query: %v", err)
			}
			q.Close()
			if _, err := compiled(spec.name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTagsQueryRejectsUnsupportedSyntax(t *testing.T) {
	tests := []struct{ name, query, want string }{
		{"predicate", `((identifier) @name (#eq? @name "x"))`, "node type"},
		{"wildcard", `(_) @reference`, "node type"},
		{"string", `("func") @reference`, "node type"},
		{"quantifier", `(block (identifier)* @reference)`, "unsupported"},
		{"unknown capture", `(identifier) @doc`, "unknown capture"},
		{"unknown kind", `(function_declaration name: (identifier) @name) @definition.gizmo`, "unknown definition kind"},
		{"unclosed", `(function_declaration`, "unclosed"},
		{"other predicate", `(call method: (identifier) @_m (#eq? @_m "x")) @reference`, "unsupported predicate #eq?"},
		{"predicate on a public capture", `(call method: (identifier) @name (#match? @name "x")) @definition.method`, "private capture"},
		{"predicate on no capture", `(call method: (identifier) @_m (#match? @_n "x")) @definition.method`, "does not capture"},
		{"bad regexp", `(call method: (identifier) @_m (#match? @_m "(")) @definition.method`, "#match?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTagsQuery(tc.query)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	g := languageTable[0] // go
	g.tags = `(function_declaration name: (identifier) @name) @definition.function (nosuchnode) @reference`
	if _, err := compileLanguage(&g); err == nil || !strings.Contains(err.Error(), "nosuchnode") {
		t.Fatalf("unknown node type accepted: %v", err)
	}
	g.tags = `(function_declaration name: (identifier) @reference.call) @definition.function`
	if _, err := compileLanguage(&g); err == nil {
		t.Fatal("pattern mixing roles accepted")
	}
}

// walk.go reads the binding's unexported C pointers; check that against the
// binding's own view of the same tree.
func TestBindingLayout(t *testing.T) {
	src := []byte("\n\npackage p\n\nfunc F() {}\n")
	cl, err := compiled("go")
	if err != nil {
		t.Fatal(err)
	}
	p := sitter.NewParser()
	defer p.Close()
	tree, err := parseSource(context.Background(), p, cl, src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	root := tree.RootNode()
	if s, e := rootSpan(tree); s != root.StartByte() || e != root.EndByte() {
		t.Fatalf("C sees root [%d,%d), binding [%d,%d)", s, e, root.StartByte(), root.EndByte())
	}
	if got, want := fieldCount(cl.grammar), 0; got <= want || cl.grammar.FieldName(got) == "" || cl.grammar.FieldName(got+1) != "" {
		t.Fatalf("field count %d disagrees with the binding", got)
	}
}

// TestTagsPredicatesAndAnchors: a #match? predicate limits a pattern to
// the names it matches, and an anchored child to the first one, so the
// patterns that read definitions from calls and assignments take only
// those that define.
func TestTagsPredicatesAndAnchors(t *testing.T) {
	tests := []struct{ path, src, want string }{
		{"a.rb", "class A\n  before_action :auth\n  alias_method :as_json, :to_h\n  attr_reader :id, :name\nend\n",
			"A:class as_json:method id:field name:field "},
		{"a.js", "a.b.c = function () {};\nX.prototype.m = function () {};\nmodule.exports.f = () => 1;\nexports.g = function* () {};\n",
			"m:function f:function g:function "},
	}
	for _, tt := range tests {
		syms, err := Symbols(context.Background(), tt.path, []byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		if got := names(syms); got != tt.want {
			t.Errorf("%s: symbols %s, want %s", tt.path, got, tt.want)
		}
	}
}
