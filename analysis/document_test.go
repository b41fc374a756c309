package analysis

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDocumentIncrementalMatchesFullParse(t *testing.T) {
	ctx := context.Background()
	src := []byte("package p\n\nfunc A() {}\n\ntype T struct {\n\tX int\n}\n\nfunc B() {}\n")
	doc, err := NewDocument(ctx, "p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	edits := []struct {
		name     string
		old, new string
	}{
		{"insert lines before", "func A() {}", "// one\n// two\nfunc A() {}"},
		{"rename on same line", "func B()", "func Bee()"},
		{"add a field", "\tX int\n", "\tX int\n\tYy string\n"},
		{"break syntax", "func Bee() {}", "func Bee() {"},
		{"repair", "func Bee() {", "func Bee() {}"},
		{"delete a block", "// one\n// two\n", ""},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			cur := doc.Source()
			i := bytes.Index(cur, []byte(e.old))
			if i < 0 {
				t.Fatalf("%q not in document", e.old)
			}
			if err := doc.Apply(ctx, i, i+len(e.old), []byte(e.new)); err != nil {
				t.Fatal(err)
			}
			got, err := doc.Outline()
			if err != nil {
				t.Fatal(err)
			}
			want, err := Outline(ctx, "p.go", doc.Source())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("incremental outline %+v\nfull parse %+v", got, want)
			}
			full, _ := CheckSyntax(ctx, "p.go", doc.Source())
			if inc := doc.SyntaxErrors(); len(inc) != len(full) {
				t.Fatalf("syntax errors incremental %v, full %v", inc, full)
			}
		})
	}
	if err := doc.Apply(ctx, 5, 2, nil); err == nil {
		t.Error("inverted edit accepted")
	}
	if err := doc.Apply(ctx, 0, len(doc.Source())+1, nil); err == nil {
		t.Error("edit past the end accepted")
	}
}

// tenThousandLines builds a Go file of 10,000 lines.
func tenThousandLines() []byte {
	var b strings.Builder
	b.WriteString("package big\n\n")
	for i, lines := 0, 2; lines < 10000; i, lines = i+1, lines+6 {
		fmt.Fprintf(&b, "// F%d doubles.\nfunc F%d(x int) int {\n\ty := x * 2\n\treturn y + %d\n}\n\n", i, i, i)
	}
	return []byte(b.String())
}

func BenchmarkDocumentEditOutline(b *testing.B) {
	ctx := context.Background()
	src := tenThousandLines()
	if n := bytes.Count(src, []byte("\n")); n < 10000 {
		b.Fatalf("only %d lines", n)
	}
	doc, err := NewDocument(ctx, "big.go", src)
	if err != nil {
		b.Fatal(err)
	}
	defer doc.Close()
	// Alternate between two one-line edits in the middle of the file.
	mid := bytes.Index(src, []byte("return y + 800\n"))
	texts := [][]byte{[]byte("return y - 800\n"), []byte("return y + 800\n")}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := doc.Apply(ctx, mid, mid+len(texts[0]), texts[i%2]); err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Outline(); err != nil {
			b.Fatal(err)
		}
	}
}
