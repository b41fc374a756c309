// Command loom is an AI coding agent served over LSP, MCP and ACP, and run
// from a terminal. Its commands live in one package per group (run, repl,
// apply, threads, tool, analyze, serve, version), added by root; this
// package only starts it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
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
	stopProfile := cpuProfile(os.Getenv("LOOM_CPUPROFILE"))
	code := root.Execute(ctx, cmdutil.New(ios, version), os.Args[1:])
	stopProfile()
	cancel()
	stop()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the command to path (LOOM_CPUPROFILE),
// for `go tool pprof`; package initialisation, before main, is not in it
// (GODEBUG=inittrace=1 shows that). It returns the function that ends it.
func cpuProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loom: LOOM_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "loom: LOOM_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
