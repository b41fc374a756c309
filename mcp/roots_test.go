package mcp

import (
	"strings"
	"testing"
)

func TestPickRoot(t *testing.T) {
	roots := []root{{given: "/work/a", real: "/real/a"}, {given: "/work/b", real: "/work/b"}}
	tests := []struct {
		paths []string
		want  string
	}{
		{nil, "/work/a"},
		{[]string{"x.go"}, "/work/a"},
		{[]string{"/work/b/x.go"}, "/work/b"},
		{[]string{"/work/b"}, "/work/b"},
		{[]string{"/real/a/x.go"}, "/work/a"},
		{[]string{"/work/b2/x.go"}, "/work/a"}, // a prefix twin is not inside
		{[]string{"/elsewhere/x.go", "/work/b/y.go"}, "/work/b"},
		{[]string{"/work/b/../a/x.go"}, "/work/a"},
	}
	for _, tt := range tests {
		if got := pickRoot(roots, tt.paths); got != tt.want {
			t.Errorf("pickRoot(%v) = %s, want %s", tt.paths, got, tt.want)
		}
	}
}

func TestRootPath(t *testing.T) {
	tests := []struct {
		uri, want, wantErr string
	}{
		{"file:///home/me/proj", "/home/me/proj", ""},
		{"file://localhost/home/me/proj", "/home/me/proj", ""},
		{"file:///home/me/my%20proj", "/home/me/my proj", ""},
		{"https://example.com/repo", "", "not a file:// URI"},
		{"file://otherhost/share", "", "another host"},
		{"file:relative", "", "not an absolute path"},
		{"%zz", "", "invalid URL escape"},
	}
	for _, tt := range tests {
		got, err := rootPath(tt.uri)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("rootPath(%q) error = %v, want %q", tt.uri, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("rootPath(%q) = %q, %v; want %q", tt.uri, got, err, tt.want)
		}
	}
}
