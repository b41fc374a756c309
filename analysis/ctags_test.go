package analysis

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ctagsTag is one line of Universal Ctags' JSON output.
type ctagsTag struct {
	Type string `json:"_type"`
	Name string `json:"name"`
	Line int    `json:"line"`
	Kind string `json:"kind"`
}

// TestDefinitionRecallAgainstCtags runs Universal Ctags on the fixtures of
// testdata/ctags (code written as libraries write it: prototype and exports
// assignments, macro-prefixed classes, Ruby accessors and aliases, Python
// definitions under if and try) and fails when Loom finds, by name and
// line, fewer of ctags' definitions than the goal. What ctags tags that is
// no definition (an import's local name) is left out.
func TestDefinitionRecallAgainstCtags(t *testing.T) {
	ctags, err := exec.LookPath("ctags")
	if err != nil {
		t.Fatal("Universal Ctags is not installed (test/install.sh installs universal-ctags)")
	}
	if out, err := exec.Command(ctags, "--version").Output(); err != nil || !bytes.Contains(out, []byte("Universal Ctags")) {
		t.Fatalf("%s is not Universal Ctags: %s %v", ctags, out, err)
	}
	tests := []struct {
		file string
		goal float64
		// noise are ctags kinds that are no definitions of the file.
		noise []string
	}{
		{file: "events.js", goal: 0.90},
		{file: "logger.hpp", goal: 0.95},
		{file: "store.rb", goal: 0.95},
		{file: "compat.py", goal: 0.95, noise: []string{"namespace"}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "ctags", tt.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := ctagsDefinitions(t, ctags, path, tt.noise)
			syms, err := Symbols(ctx, path, src)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, s := range syms {
				// ctags drops the # of JavaScript's private names.
				have[fmt.Sprint(strings.TrimPrefix(s.Name, "#"), ":", s.NameRange.Start.Line+1)] = true
			}
			var missed []string
			for _, w := range want {
				if !have[w] && !have[accessorName(w)] {
					missed = append(missed, w)
				}
			}
			recall := float64(len(want)-len(missed)) / float64(len(want))
			t.Logf("%s: recall %.3f (%d of ctags' %d definitions)", tt.file, recall, len(want)-len(missed), len(want))
			if recall < tt.goal {
				t.Errorf("%s: recall %.3f under the goal %.2f; missed (name:line) %s", tt.file, recall, tt.goal, strings.Join(missed, " "))
			}
		})
	}
}

// accessorName maps ctags' "name=:LINE", the writer of a Ruby attribute,
// to the attribute "name:LINE" Loom names once for reader and writer.
func accessorName(tag string) string {
	name, line, _ := strings.Cut(tag, ":")
	if n, ok := strings.CutSuffix(name, "="); ok && n != "" && n != "=" {
		return n + ":" + line
	}
	return tag
}

// ctagsDefinitions returns ctags' definitions of path as "name:line",
// each once (ctags lists `exports.f = function f` under both scopes).
func ctagsDefinitions(t *testing.T, ctags, path string, noise []string) []string {
	t.Helper()
	out, err := exec.Command(ctags, "--output-format=json", "--fields=+nK", "-f", "-", path).Output()
	if err != nil {
		t.Fatalf("ctags %s: %v", path, err)
	}
	seen := map[string]bool{}
	var defs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var tag ctagsTag
		if err := json.Unmarshal(sc.Bytes(), &tag); err != nil {
			t.Fatalf("ctags output %q: %v", sc.Text(), err)
		}
		if tag.Type != "tag" || slices.Contains(noise, tag.Kind) {
			continue
		}
		key := fmt.Sprint(tag.Name, ":", tag.Line)
		if !seen[key] {
			seen[key] = true
			defs = append(defs, key)
		}
	}
	if len(defs) == 0 {
		t.Fatalf("ctags found no definitions in %s", path)
	}
	return defs
}
