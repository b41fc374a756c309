package analysis

import (
	"bytes"
	"path/filepath"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/ruby"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// languageSpec is one row of the language table. Adding a language means
// adding a row: its grammar, the extensions and shebang interpreters that
// select it, and a tags query (see tagsquery.go for the supported subset).
type languageSpec struct {
	name         string
	grammar      func() *sitter.Language
	extensions   []string
	interpreters []string
	tags         string
	// outlineSkip lists node types (function bodies) whose subtrees can hold
	// only local declarations; outlines do not enter them, which keeps
	// outlining an edited document fast. Optional.
	outlineSkip []string
	// qualifierFields are the fields in which a name the file imports (see
	// @import.name and @import.path) is a package qualifying what follows
	// (Go's fmt.Println, strings.Builder). Optional.
	qualifierFields []string
	// syntaxTrusted: the grammar parses valid code of the language so
	// reliably (bench/syntax.sh) that its errors in a file nobody edited
	// are reported (CheckSyntax). Languages with a preprocessor or a
	// grammar behind the language are not.
	syntaxTrusted bool
	// nameTrim lists bytes trimmed from the start of definition names:
	// Ruby's attr_accessor :name defines name. Optional.
	nameTrim string
	// blankExportMacros: the parser reads the source with C's export
	// macros blanked (macros.go). Optional.
	blankExportMacros bool
}

var languageTable = []languageSpec{
	{name: "go", syntaxTrusted: true, grammar: golang.GetLanguage, extensions: []string{".go"}, tags: goTags, outlineSkip: []string{"block", "parameter_list"},
		qualifierFields: []string{"operand", "package"}},
	{name: "python", syntaxTrusted: true, grammar: python.GetLanguage, extensions: []string{".py", ".pyi", ".pyw"}, interpreters: []string{"python", "python2", "python3"}, tags: pythonTags},
	{name: "javascript", syntaxTrusted: true, grammar: javascript.GetLanguage, extensions: []string{".js", ".mjs", ".cjs", ".jsx"}, interpreters: []string{"node", "nodejs"}, tags: javascriptTags},
	{name: "typescript", grammar: typescript.GetLanguage, extensions: []string{".ts", ".mts", ".cts"}, interpreters: []string{"ts-node", "deno", "tsx", "bun"}, tags: typescriptTags},
	{name: "tsx", grammar: tsx.GetLanguage, extensions: []string{".tsx"}, tags: typescriptTags},
	{name: "rust", syntaxTrusted: true, grammar: rust.GetLanguage, extensions: []string{".rs"}, tags: rustTags},
	{name: "java", syntaxTrusted: true, grammar: java.GetLanguage, extensions: []string{".java"}, tags: javaTags},
	{name: "c", grammar: c.GetLanguage, extensions: []string{".c"}, interpreters: []string{"tcc"}, tags: cTags, blankExportMacros: true},
	{name: "cpp", grammar: cpp.GetLanguage, extensions: []string{".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".h", ".inl", ".ipp"}, tags: cppTags, blankExportMacros: true},
	{name: "ruby", syntaxTrusted: true, grammar: ruby.GetLanguage, extensions: []string{".rb", ".rake", ".gemspec", ".ru"}, interpreters: []string{"ruby"}, tags: rubyTags, nameTrim: ":"},
}

// Languages returns the names of the supported languages in table order.
func Languages() []string {
	out := make([]string, len(languageTable))
	for i, l := range languageTable {
		out[i] = l.name
	}
	return out
}

var byExtension = func() map[string]int {
	m := map[string]int{}
	for i, l := range languageTable {
		for _, e := range l.extensions {
			m[e] = i
		}
	}
	return m
}()

// LanguageForPath picks a language by file extension alone; ok is false when
// the extension is unknown (callers with the contents should use
// DetectLanguage, which also reads shebangs).
func LanguageForPath(path string) (name string, ok bool) {
	i, ok := byExtension[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return "", false
	}
	return languageTable[i].name, true
}

// DetectLanguage picks a language by extension, then by a "#!" line for
// extensionless scripts. It returns "" when neither identifies one.
func DetectLanguage(path string, src []byte) string {
	if name, ok := LanguageForPath(path); ok {
		return name
	}
	if filepath.Ext(path) != "" {
		return ""
	}
	return languageFromShebang(src)
}

func languageFromShebang(src []byte) string {
	if !bytes.HasPrefix(src, []byte("#!")) {
		return ""
	}
	line := src[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return ""
	}
	interp := filepath.Base(fields[0])
	if interp == "env" {
		// "#!/usr/bin/env -S node --flag": skip env's own options.
		interp = ""
		for _, f := range fields[1:] {
			if !strings.HasPrefix(f, "-") {
				interp = filepath.Base(f)
				break
			}
		}
	}
	for _, l := range languageTable {
		for _, name := range l.interpreters {
			// python3.12 and the like select python3's language.
			if interp == name || strings.HasPrefix(interp, name) && strings.Trim(interp[len(name):], "0123456789.") == "" {
				return l.name
			}
		}
	}
	return ""
}
