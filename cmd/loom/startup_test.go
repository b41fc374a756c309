package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/quick"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// TestStartupLeavesSchemaDraftsAlone guards the patch in
// third_party/jsonschema: mcp-go links that package, whose init used to
// compile every JSON Schema draft when any loom command started (half of
// the start-up). Allocations are counted, not time. The drafts must still
// be there once something compiles a schema.
func TestStartupLeavesSchemaDraftsAlone(t *testing.T) {
	cmd := loomCommand(t, privateEnv(t, "GODEBUG=inittrace=1"), "version")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom version: %v\n%s", err, out)
	}
	// init github.com/santhosh-tekuri/jsonschema/v6 @2.1 ms, 3.3 ms clock, 1701112 bytes, 21285 allocs
	re := regexp.MustCompile(`(?m)^init github\.com/santhosh-tekuri/jsonschema/v6 @.* (\d+) allocs$`)
	// The line must be there: without it nothing was measured (GODEBUG
	// not honoured, the trace's format changed, the package not linked).
	m := re.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no init line for github.com/santhosh-tekuri/jsonschema/v6 in loom version's init trace:\n%s", out)
	}
	if allocs, _ := strconv.Atoi(m[1]); allocs > 1000 {
		t.Fatalf("the jsonschema package's init made %d allocations: is the replace in go.mod gone?", allocs)
	}

	c := jsonschema.NewCompiler()
	schema := map[string]any{
		"$schema":    "http://json-schema.org/draft-07/schema#",
		"type":       "object",
		"properties": map[string]any{"n": map[string]any{"type": "integer"}},
	}
	if err := c.AddResource("mem://s.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://s.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(map[string]any{"n": 1}); err != nil {
		t.Fatalf("a valid instance was refused: %v", err)
	}
	if err := sch.Validate(map[string]any{"n": "one"}); err == nil {
		t.Fatal("an invalid instance passed")
	}
	// A schema that breaks its draft's metaschema is refused, so the
	// metaschemas were compiled.
	if err := c.AddResource("mem://bad.json", map[string]any{"$schema": "http://json-schema.org/draft-07/schema#", "type": 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("mem://bad.json"); err == nil {
		t.Fatal("a schema with \"type\": 5 compiled")
	}
}

// TestStartupLeavesChromaAlone: chroma (glamour's syntax highlighter)
// parses its 250 XML lexers and 70 styles when one is first looked up, not
// at every start (third_party/chroma/PATCH.md), and they all still work.
func TestStartupLeavesChromaAlone(t *testing.T) {
	cmd := loomCommand(t, privateEnv(t, "GODEBUG=inittrace=1"), "version")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom version: %v\n%s", err, out)
	}
	for _, pkg := range []string{"lexers", "styles"} {
		re := regexp.MustCompile(`(?m)^init github\.com/alecthomas/chroma/v2/` + pkg + ` @.* (\d+) allocs$`)
		m := re.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no init line for chroma's %s in loom version's init trace:\n%s", pkg, out)
		}
		if allocs, _ := strconv.Atoi(m[1]); allocs > 2000 {
			t.Errorf("chroma's %s init made %d allocations: is the replace in go.mod gone?", pkg, allocs)
		}
	}

	// A style registered before the embedded ones load keeps its name, as
	// glamour registers its own.
	own := styles.Register(chroma.MustNewStyle("loom-test", chroma.StyleEntries{chroma.Keyword: "#ff0000"}))
	if styles.Get("loom-test") != own || styles.Get("dracula").Name != "dracula" || styles.Fallback == nil || styles.Fallback.Name != "swapoff" {
		t.Errorf("styles: loom-test %v, dracula %v, fallback %v", styles.Get("loom-test").Name, styles.Get("dracula").Name, styles.Fallback)
	}
	for name, want := range map[string]string{"go": "Go", "python": "Python", "html": "HTML", "erb": "ERB", "dns": "dns"} {
		if l := lexers.Get(name); l == nil || l.Config().Name != want {
			t.Errorf("lexers.Get(%q) = %v, want %s", name, l, want)
		}
	}
	if l := lexers.Match("main.rs"); l == nil || l.Config().Name != "Rust" {
		t.Errorf("lexers.Match(main.rs) = %v", l)
	}
	// The analysers set after the embedded lexers load.
	if l := lexers.Analyse("@ IN SOA ns.example.com. admin.example.com. 1 2 3 4 5\n"); l == nil || l.Config().Name != "dns" {
		t.Errorf("lexers.Analyse(zone file) = %v", l)
	}
	var buf strings.Builder
	if err := quick.Highlight(&buf, "package main\n\nfunc main() {}\n", "go", "terminal256", "loom-test"); err != nil || !strings.Contains(buf.String(), "\x1b[38;5;196mfunc") {
		t.Errorf("highlighted Go: %v %q", err, buf.String())
	}
}

// TestStartupLeavesMarkdownAlone: goldmark (glamour's markdown parser)
// compiles its linkify and e-mail patterns and builds its case-folding
// table at first use, and glamour's HTML stripping no longer links
// bluemonday and its CSS packages, whose initialisation compiled some 70
// patterns (third_party/goldmark/PATCH.md, third_party/glamour/PATCH.md).
// Allocations are counted, not time. Links, e-mail addresses and case
// folding in a rendered answer still work.
func TestStartupLeavesMarkdownAlone(t *testing.T) {
	cmd := loomCommand(t, privateEnv(t, "GODEBUG=inittrace=1"), "version")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loom version: %v\n%s", err, out)
	}
	for pkg, limit := range map[string]int{"github.com/yuin/goldmark/extension": 1000, "github.com/yuin/goldmark/util": 100} {
		re := regexp.MustCompile(`(?m)^init ` + regexp.QuoteMeta(pkg) + ` @.* (\d+) allocs$`)
		m := re.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no init line for %s in loom version's init trace:\n%s", pkg, out)
		}
		if allocs, _ := strconv.Atoi(m[1]); allocs > limit {
			t.Errorf("%s's init made %d allocations (at most %d): is the replace in go.mod gone?", pkg, allocs, limit)
		}
	}
	for _, pkg := range []string{"github.com/microcosm-cc/bluemonday", "github.com/gorilla/css"} {
		if strings.Contains(string(out), "init "+pkg) {
			t.Errorf("%s is linked again", pkg)
		}
	}

	var md bytes.Buffer
	src := "See https://example.com/a?b=1 and www.example.org, mail ann@example.com.\n\n[Ünïcode][ÜNÏCODE]\n\n[ünïcode]: https://example.net/u\n"
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(src), &md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<a href="https://example.com/a?b=1">`, `<a href="http://www.example.org">`, `<a href="mailto:ann@example.com">`, `<a href="https://example.net/u">Ünïcode</a>`} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("goldmark's HTML lacks %s:\n%s", want, md.String())
		}
	}
}
