package lexers

import (
	"embed"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/alecthomas/chroma/v2"
)

//go:embed embedded
var embedded embed.FS

// GlobalLexerRegistry is the global LexerRegistry of Lexers.
//
// Loom's patch: it holds the lexers defined in Go from the package's
// initialisation, and the embedded XML lexers (some 250 files to parse)
// from the first call of a function of this package that looks one up
// (loadEmbedded), instead of at every process start.
var GlobalLexerRegistry = chroma.NewLexerRegistry()

var (
	embeddedOnce sync.Once
	embeddedDone atomic.Bool
	// registered are the lexers registered before the embedded ones
	// were loaded, in order: registered again after them, as upstream's
	// initialisation order had it.
	registered []chroma.Lexer
)

// loadEmbedded registers the embedded XML lexers, then again the lexers
// registered so far, and returns the registry (Loom's patch).
func loadEmbedded() *chroma.LexerRegistry {
	embeddedOnce.Do(func() {
		reg := chroma.NewLexerRegistry()
		paths, err := fs.Glob(embedded, "embedded/*.xml")
		if err != nil {
			panic(err)
		}
		for _, path := range paths {
			reg.Register(chroma.MustNewXMLLexer(embedded, path))
		}
		for _, l := range registered {
			reg.Register(l)
		}
		registered = nil
		GlobalLexerRegistry = reg
		analyseDNS()
		analyseMySQL()
		analyseZed()
		embeddedDone.Store(true)
	})
	return GlobalLexerRegistry
}

// Names of all lexers, optionally including aliases.
func Names(withAliases bool) []string {
	return loadEmbedded().Names(withAliases)
}

// Aliases of all the lexers, and skip those lexers who do not have any aliases,
// or show their name instead
func Aliases(skipWithoutAliases bool) []string {
	return loadEmbedded().Aliases(skipWithoutAliases)
}

// Get a Lexer by name, alias or file extension.
//
// Note that this if there isn't an exact match on name or alias, this will
// call Match(), so it is not efficient.
func Get(name string) chroma.Lexer {
	return loadEmbedded().Get(name)
}

// MatchMimeType attempts to find a lexer for the given MIME type.
func MatchMimeType(mimeType string) chroma.Lexer {
	return loadEmbedded().MatchMimeType(mimeType)
}

// Match returns the first lexer matching filename.
//
// Note that this iterates over all file patterns in all lexers, so it's not
// particularly efficient.
func Match(filename string) chroma.Lexer {
	return loadEmbedded().Match(filename)
}

// Register a Lexer with the global registry.
func Register(lexer chroma.Lexer) chroma.Lexer {
	if embeddedDone.Load() {
		return GlobalLexerRegistry.Register(lexer)
	}
	registered = append(registered, lexer)
	return GlobalLexerRegistry.Register(lexer)
}

// Analyse text content and return the "best" lexer..
func Analyse(text string) chroma.Lexer {
	return loadEmbedded().Analyse(text)
}

// PlaintextRules is used for the fallback lexer as well as the explicit
// plaintext lexer.
func PlaintextRules() chroma.Rules {
	return chroma.Rules{
		"root": []chroma.Rule{
			{`.+`, chroma.Text, nil},
			{`\n`, chroma.Text, nil},
		},
	}
}

// Fallback lexer if no other is found.
var Fallback chroma.Lexer = chroma.MustNewLexer(&chroma.Config{
	Name:      "fallback",
	Filenames: []string{"*"},
	Priority:  -1,
}, PlaintextRules)
