package session

import "testing"

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/account", "/account"},
		{"/device?user_code=BCDF-GHJK", "/device?user_code=BCDF-GHJK"},
		{"", ""},
		{"account", ""},
		{"https://evil.example/", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example", ""},
		{"/a\\b", ""},
		{"/ok\r\nSet-Cookie: x", ""},
		{"/ok\tx", ""},
		{"javascript:alert(1)", ""},
	} {
		if got := LocalPath(tc.in); got != tc.want {
			t.Errorf("LocalPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
