// Command syntaxcorpus counts the files of a corpus of valid code that Loom
// flags with syntax errors: as `loom lsp` publishes them when the file is
// opened (analysis.Document.SyntaxErrors), as syntax_check reports them for
// an untouched file (analysis.CheckSyntax), and, for comparison, as
// tree-sitter's parse has them (analysis.ParseErrors, what Loom reported
// before). Each file that parses cleanly then has an error injected as an
// editor's edit (the closing brace it ends with deleted, or else an unclosed
// parenthesis appended), and the count of those the document reports shows that real
// errors are still caught. It reads one path a line on stdin and prints
//
//	NAME: FILES files; flagged on open OPEN, by syntax_check CHECK, by tree-sitter's parse RAW; injected errors caught CAUGHT/INJECTED
//
// then, with -v, each file flagged by syntax_check or missed after an
// injection. bench/syntax.sh runs it over Go's, Python's, npm's, and a C
// and a C++ library's sources.
//
//	find DIR -name '*.go' | syntaxcorpus -name go
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/loom-agent/loom/analysis"
)

type counts struct{ files, open, check, raw, injected, caught int }

func main() {
	name := flag.String("name", "corpus", "the corpus' name, printed first")
	verbose := flag.Bool("v", false, "print each file flagged by syntax_check, or missed after an injection")
	flag.Parse()
	ctx := context.Background()
	var c counts
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if err := measure(ctx, in.Text(), &c, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "syntaxcorpus:", err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "syntaxcorpus:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d files; flagged on open %d, by syntax_check %d, by tree-sitter's parse %d; injected errors caught %d/%d\n",
		*name, c.files, c.open, c.check, c.raw, c.caught, c.injected)
}

func measure(ctx context.Context, path string, c *counts, verbose bool) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if analysis.DetectLanguage(path, src) == "" {
		return nil
	}
	c.files++
	d, err := analysis.NewDocument(ctx, path, src)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer d.Close()
	if len(d.SyntaxErrors()) > 0 {
		c.open++
	}
	errs, err := analysis.CheckSyntax(ctx, path, src)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(errs) > 0 {
		c.check++
		if verbose {
			e := errs[0]
			fmt.Printf("  flagged %s:%d:%d: %s\n", path, e.Range.Start.Line+1, e.Range.Start.Column+1, e.Message)
		}
	}
	raw := d.ParseErrors()
	if len(raw) > 0 {
		c.raw++
		return nil
	}
	// The file parses cleanly: break it as an edit would, deleting the
	// closing brace it ends with, or else opening a parenthesis at its end.
	start, end, text := len(src), len(src), []byte("\n(\n")
	if t := bytes.TrimRight(src, " \t\r\n"); len(t) > 0 && t[len(t)-1] == '}' {
		start, end, text = len(t)-1, len(t), nil
	}
	c.injected++
	if err := d.Apply(ctx, start, end, text); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(d.SyntaxErrors()) > 0 {
		c.caught++
	} else if verbose {
		fmt.Printf("  missed the injected error in %s at byte %d\n", path, start)
	}
	return nil
}
