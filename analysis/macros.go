package analysis

import (
	"bytes"
	"regexp"
	"slices"
	"sync"
)

// C and C++ libraries mark exported classes with a macro between the
// keyword and the name (`class SPDLOG_API logger {`), which expands to an
// attribute the grammar would accept but is not expanded by a parser that
// sees no headers: tree-sitter then reads a function named logger, the
// class's members as statements, and reports errors (60 of spdlog's and
// fmt's 99 headers); the same goes for a macro opening a declaration's
// line (`void logger::flush() SPDLOG_NOEXCEPT`). Universal Ctags guesses as
// this does: an all-capitals word between the keyword and the name of a
// class with a body or bases is a macro, and so is an all-capitals word
// named as an export or linkage marker (…_API, …_INLINE) that opens a
// line before a declaration. The parser sees spaces in their place, so
// every offset stays the same.

// exportMacro matches at a class-key: the key, the macro (group 2), the
// name (group 3) and what must follow a class head.
var exportMacro = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:class|struct|union)\s+([A-Z_][A-Z0-9_]*[A-Z][A-Z0-9_]*)\s+([A-Za-z_]\w*)\s*(?:final\s*)?[:{]`)
})

// declMacro matches a line that starts with a macro named as an export or
// linkage marker (SPDLOG_INLINE, FMT_API, ZEND_API) before a declaration:
// group 1 is the macro. Other capitalised words there are types (FILE,
// HANDLE) and stay.
var declMacro = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[ \t]*([A-Z][A-Z0-9_]*_(?:API|EXPORT|IMPORT|INLINE|EXTERN|DECL|CONSTEXPR|NODISCARD|NOINLINE|FORCEINLINE|VISIBILITY|PUBLIC))[ \t]+[A-Za-z_]`)
})

// maxClassHead bounds the text an export macro's class head, or a
// declaration's line, is looked for in.
const maxClassHead = 256

// exportMacroSpans returns the [start, end) byte spans of the export macros
// of src, in order.
func exportMacroSpans(src []byte) [][2]int {
	var spans [][2]int
	for _, key := range [][]byte{[]byte("class"), []byte("struct"), []byte("union")} {
		for off := 0; ; {
			i := bytes.Index(src[off:], key)
			if i < 0 {
				break
			}
			i += off
			off = i + len(key)
			if i > 0 && isWordByte(src[i-1]) {
				continue
			}
			m := exportMacro().FindSubmatchIndex(src[i:min(len(src), i+maxClassHead)])
			if m == nil || string(src[i+m[4]:i+m[5]]) == "final" {
				continue
			}
			spans = append(spans, [2]int{i + m[2], i + m[3]})
		}
	}
	for off := 0; off < len(src); {
		end := bytes.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += off
		}
		if c := firstNonBlank(src[off:end]); c >= 'A' && c <= 'Z' {
			if m := declMacro().FindSubmatchIndex(src[off:min(end, off+maxClassHead)]); m != nil {
				spans = append(spans, [2]int{off + m[2], off + m[3]})
			}
		}
		off = end + 1
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	return spans
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// blankExportMacros returns src with its export macros replaced by spaces,
// or src itself when it has none.
func blankExportMacros(src []byte) []byte {
	spans := exportMacroSpans(src)
	if len(spans) == 0 {
		return src
	}
	out := bytes.Clone(src)
	for _, s := range spans {
		for i := s[0]; i < s[1]; i++ {
			out[i] = ' '
		}
	}
	return out
}

// macrosMoved reports whether an edit changed the export macros outside
// the text it replaced: old's spans after the edit, shifted, against
// new's. The parser's reuse of the old tree is then unsound.
func macrosMoved(oldSrc, newSrc []byte, e InputEdit) bool {
	before, after := exportMacroSpans(oldSrc), exportMacroSpans(newSrc)
	delta := int(e.NewEndByte) - int(e.OldEndByte)
	var shifted [][2]int
	for _, s := range before {
		switch {
		case s[1] <= int(e.StartByte):
			shifted = append(shifted, s)
		case s[0] >= int(e.OldEndByte):
			shifted = append(shifted, [2]int{s[0] + delta, s[1] + delta})
		default:
			return true // the edit touched a macro
		}
	}
	return !slices.Equal(shifted, after)
}

func firstNonBlank(line []byte) byte {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return c
		}
	}
	return 0
}
