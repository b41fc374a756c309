// Command llmtest serves a scripted model, in OpenAI's and Anthropic's
// formats, for end-to-end tests of Loom's binary and of other clients.
//
//	llmtest -script turns.json [-addr 127.0.0.1:0] [-record requests.json]
//
// The first line on stdout is the base URL (http://127.0.0.1:PORT/v1); the
// server then runs until interrupted or terminated. With -record, the
// recorded requests are rewritten to that file (a JSON array) after each
// request. The script format is described in package llmtest.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/loom-agent/loom/llm/llmtest"
)

func main() {
	os.Exit(run())
}

func run() int {
	script := flag.String("script", "", "JSON script file to play (\"-\" for stdin)")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	record := flag.String("record", "", "file to write recorded requests to (JSON array, rewritten after each request)")
	flag.Parse()
	if *script == "" && flag.NArg() == 1 {
		*script = flag.Arg(0)
	}
	if *script == "" || flag.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: llmtest -script FILE [-addr HOST:PORT] [-record FILE]")
		return 2
	}
	sc, err := llmtest.LoadScript(*script)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := llmtest.Start(sc, *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	if *record != "" {
		if err := srv.RecordTo(*record); err != nil {
			fmt.Fprintf(os.Stderr, "llmtest: cannot write %s: %v\n", *record, err)
			return 1
		}
	}
	// Listen for signals before announcing the URL: a caller may stop us as
	// soon as it has read it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, srv.URL)
	if err := out.Flush(); err != nil {
		return 1
	}
	<-sig
	if err := srv.RecordErr(); err != nil {
		fmt.Fprintf(os.Stderr, "llmtest: writing %s: %v\n", *record, err)
		return 1
	}
	return 0
}
