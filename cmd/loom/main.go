// Command loom is an AI coding agent served over LSP, MCP and ACP, and run
// from a terminal. Its commands live in one package per group (run, repl,
// apply, threads, tool, analyze, serve, version), added by root; this
// package only starts it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/cmd/loom/root"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(ctx)
	ios := iostreams.System()
	ios.CancelOnClosedPipe(cancel)
	code := root.Execute(ctx, cmdutil.New(ios, version), os.Args[1:])
	cancel()
	stop()
	os.Exit(code)
}
