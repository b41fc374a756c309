package cmdutil

import (
	"encoding/json"
	"io"
	"strings"
)

// WriteJSON prints v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// NonNil makes an empty result print as [] rather than null.
func NonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// EnsureNewline ends a non-empty text with a newline.
func EnsureNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
