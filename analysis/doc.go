// Package analysis extracts structure from source code with tree-sitter:
// per-file outlines (the hierarchy LSP's documentSymbol needs), a
// workspace-wide symbol index cached on disk, definitions and references,
// syntax errors, an aider-style repo map ranked with personalised PageRank,
// and incremental reparsing of an edited document.
//
// The package is a leaf: callers hand it file lists and bytes; it never walks
// directories or reads configuration of its own.
//
// Languages are described by one table entry each (see languages.go): a
// grammar, file extensions, shebang interpreters and a tags-style query.
// The query is written in tree-sitter's S-expression syntax but compiled by
// this package into symbol tables, so that a single cursor walk in C per file
// yields both definitions and identifier references; running tree-sitter's
// query engine over every tree costs about as much again as parsing.
package analysis
