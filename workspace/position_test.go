package workspace

import (
	"testing"
)

func TestPositions(t *testing.T) {
	text := "a🙂b\r\n世界x\nno newline"
	lines := NewLines(text)
	tests := []struct {
		name   string
		offset int
		utf16  Position
		utf8   Position
		utf32  Position
	}{
		{"start", 0, Position{0, 0}, Position{0, 0}, Position{0, 0}},
		{"after emoji", 1 + 4, Position{0, 3}, Position{0, 5}, Position{0, 2}},
		{"end of CRLF line", 6, Position{0, 4}, Position{0, 6}, Position{0, 3}},
		{"start of second line", 8, Position{1, 0}, Position{1, 0}, Position{1, 0}},
		{"after CJK", 8 + 6, Position{1, 2}, Position{1, 6}, Position{1, 2}},
		{"last line", 16, Position{2, 0}, Position{2, 0}, Position{2, 0}},
		{"end of text", len(text), Position{2, 10}, Position{2, 10}, Position{2, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				enc  Encoding
				want Position
			}{{UTF16, tt.utf16}, {UTF8, tt.utf8}, {UTF32, tt.utf32}} {
				got, err := lines.Position(tt.offset, c.enc)
				if err != nil || got != c.want {
					t.Errorf("%s: Position(%d) = %v, %v; want %v", c.enc, tt.offset, got, err, c.want)
				}
				back, err := lines.Offset(c.want, c.enc)
				if err != nil || back != tt.offset {
					t.Errorf("%s: Offset(%v) = %d, %v; want %d", c.enc, c.want, back, err, tt.offset)
				}
			}
		})
	}
	if _, err := lines.Position(len(text)+1, UTF16); err == nil {
		t.Error("offset past the end accepted")
	}
	if _, err := lines.Offset(Position{Line: 3}, UTF16); err == nil {
		t.Error("line past the end accepted")
	}
	// A character past the line end clamps to the end of the line, before
	// its line break, as LSP specifies.
	if got, _ := lines.Offset(Position{Line: 0, Character: 99}, UTF16); got != 6 {
		t.Errorf("clamped offset = %d, want 6", got)
	}
}

func TestTextEdits(t *testing.T) {
	ws, _ := newWorkspace(t, map[string]string{
		"emoji.txt": "🙂 one\r\n世界 two\r\nthree",
		"old.txt":   "x\n",
	})
	cs := ws.NewChangeset()
	write("emoji.txt", "🙂 one\r\n世界 TWO\r\nthree")(t, cs)
	write("new.txt", "fresh\n")(t, cs)
	remove("old.txt")(t, cs)
	for _, tt := range []struct {
		enc  Encoding
		want Range
	}{
		// Line edits replace the whole second line.
		{UTF16, Range{Position{1, 0}, Position{2, 0}}},
		{UTF8, Range{Position{1, 0}, Position{2, 0}}},
	} {
		fes, err := cs.TextEdits(tt.enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(fes) != 3 {
			t.Fatalf("%d file edits, want 3: %+v", len(fes), fes)
		}
		got := fes[0]
		if got.Kind != Modify || got.Path != "emoji.txt" || len(got.Edits) != 1 {
			t.Fatalf("file edit = %+v", got)
		}
		if got.Edits[0].Range != tt.want || got.Edits[0].NewText != "世界 TWO\r\n" {
			t.Errorf("%s: edit = %+v, want range %v", tt.enc, got.Edits[0], tt.want)
		}
		if fes[1].Kind != Create || fes[1].Path != "new.txt" || fes[1].Edits[0].NewText != "fresh\n" {
			t.Errorf("create = %+v", fes[1])
		}
		if fes[2].Kind != Delete || fes[2].Path != "old.txt" {
			t.Errorf("delete = %+v", fes[2])
		}
	}
}

// TestComputeEditsApply checks that edits computed against old turn old
// into new when applied at their offsets, in every encoding.
func TestComputeEditsApply(t *testing.T) {
	cases := []struct{ old, new string }{
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"🙂\n世界\n", "🙂\n世界\n末尾"},
		{"x\r\ny\r\n", "x\r\nz\r\ny\r\n"},
		{"no newline", "no newline\nnow two"},
		{"", "from nothing\n"},
		{"to nothing\n", ""},
	}
	for _, c := range cases {
		for _, enc := range []Encoding{UTF8, UTF16, UTF32} {
			edits, err := ComputeEdits(c.old, c.new, enc)
			if err != nil {
				t.Fatal(err)
			}
			lines := NewLines(c.old)
			got := c.old
			for i := len(edits) - 1; i >= 0; i-- { // back to front keeps offsets valid
				e := edits[i]
				start, err1 := lines.Offset(e.Range.Start, enc)
				end, err2 := lines.Offset(e.Range.End, enc)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s %q: %v %v", enc, c.old, err1, err2)
				}
				got = got[:start] + e.NewText + got[end:]
			}
			if got != c.new {
				t.Errorf("%s: applying edits to %q gave %q, want %q", enc, c.old, got, c.new)
			}
		}
	}
}
