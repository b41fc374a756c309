package workspace

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDiff10kLines50Changes renders the diff of a 10,000-line file
// with 50 changed lines spread through it (the goal: under 5 ms).
func BenchmarkDiff10kLines50Changes(b *testing.B) {
	var old, new strings.Builder
	for i := range 10000 {
		line := fmt.Sprintf("line %d: the quick brown fox jumps over the lazy dog\n", i)
		old.WriteString(line)
		if i%200 == 100 {
			line = fmt.Sprintf("line %d: CHANGED\n", i)
		}
		new.WriteString(line)
	}
	ch := FileChange{Kind: Modify, Path: "big.txt", NewPath: "big.txt", Old: []byte(old.String()), New: []byte(new.String())}
	b.ReportAllocs()
	for b.Loop() {
		d, err := RenderDiff([]FileChange{ch})
		if err != nil || strings.Count(d, "\n@@ ") != 50 {
			b.Fatalf("diff has %d hunks, err %v", strings.Count(d, "\n@@ "), err)
		}
	}
}
