package analysis

import "testing"

// TestBlankExportMacros: the parser sees spaces for the export and linkage
// macros C and C++ libraries put before a class's name or a declaration,
// and everything else as written (types in capitals, `final`, macros of
// other names, declarations without a body).
func TestBlankExportMacros(t *testing.T) {
	tests := []struct{ src, want string }{
		{"class SPDLOG_API logger {", "class            logger {"},
		{"struct FMT_API format_error : std::runtime_error {", "struct         format_error : std::runtime_error {"},
		{"class FOO final {", "class FOO final {"},
		{"struct STAT st;", "struct STAT st;"},
		{"SPDLOG_INLINE void logger::flush()", "              void logger::flush()"},
		{"  FMT_CONSTEXPR auto size() const", "                auto size() const"},
		{"FILE *open_file(void);", "FILE *open_file(void);"},
		{"HANDLE h = NULL;", "HANDLE h = NULL;"},
		{"x = SPDLOG_INLINE y;", "x = SPDLOG_INLINE y;"},
		{"subclass FOO bar {", "subclass FOO bar {"},
	}
	for _, tt := range tests {
		if got := string(blankExportMacros([]byte(tt.src))); got != tt.want {
			t.Errorf("blankExportMacros(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}
