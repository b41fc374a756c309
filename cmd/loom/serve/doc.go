// Package serve holds the commands that serve a protocol on stdio (or
// HTTP): `loom lsp`, `loom mcp` and `loom acp`. Only protocol messages go
// to stdout; logs go to stderr.
package serve
