package analysis

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// lineIndex holds the byte offset at which each line starts. Positions are
// computed from byte offsets rather than taken from tree-sitter, so they stay
// right after incremental edits whatever the binding does with points.
type lineIndex []uint32

func newLineIndex(src []byte) lineIndex {
	return appendLineIndex(make(lineIndex, 0, 1+bytes.Count(src, []byte{'\n'})), src)
}

// appendLineIndex builds src's index in li's memory.
func appendLineIndex(li lineIndex, src []byte) lineIndex {
	li = append(li[:0], 0)
	for off := 0; ; {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return li
		}
		off += i + 1
		li = append(li, uint32(off))
	}
}

func (li lineIndex) position(off uint32) Position {
	line := sort.Search(len(li), func(i int) bool { return li[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	return Position{Line: line, Column: int(off - li[line]), Offset: int(off)}
}

func (li lineIndex) span(start, end uint32) Range {
	return Range{Start: li.position(start), End: li.position(end)}
}

// lineText returns the trimmed text of the line holding off, cut at max bytes
// on a rune boundary.
func lineText(src []byte, off uint32, max int) string {
	if int(off) > len(src) {
		return ""
	}
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		end = int(off) + i
	}
	line := bytes.TrimSpace(src[start:end])
	if len(line) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut]
	}
	return string(bytes.ToValidUTF8(line, []byte("\uFFFD")))
}
