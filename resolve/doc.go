// Package resolve answers "where is this defined" and "where is this used"
// from syntax alone, with the scope rules of the language rather than by
// name: a use of a local or a parameter resolves to its binding in the
// enclosing scopes (tree-sitter locals queries, queries/*.scm, with
// nvim-treesitter's @local.scope, @local.definition and @local.reference
// captures); a qualified name resolves through the file's imports to the
// package they name (for Go: the workspace module by go.mod's module path,
// GOROOT/src, or the module cache by go.mod's require versions); a member
// of a type through that type's declaration, where the syntax says which
// type it is (receivers, parameters and variables with declared types,
// composite literals, struct fields, results of functions). Python is
// resolved the same way (python.go, pymembers.go): scopes, imports to
// module files, members of modules, classes and instances (self, super(),
// annotations), keyword arguments to parameters; TypeScript and
// JavaScript (typescript.go, tsmembers.go) by scopes, imports of relative
// modules, and members of classes and interfaces where a declared type,
// this or new C() says which.
//
// Precision comes before recall: what it cannot resolve it does not answer
// (an empty result, not a guess by name). References use the same
// resolution: a use is a reference when it resolves to the same
// declaration.
//
// Files are read through an FS the caller hands in (the LSP server's sees
// the editor's buffers first); the package never reads configuration of its
// own beyond the go.mod files that name the imports. It is a leaf beside
// analysis.
package resolve
