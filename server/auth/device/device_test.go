package device

import "testing"

func TestUserCodes(t *testing.T) {
	for range 200 {
		c := newUserCode()
		if NormalizeUserCode(c) != c {
			t.Fatalf("%q does not survive normalizing", c)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"bcdf-ghjk", "BCDF-GHJK"},
		{" BCDF GHJK ", "BCDF-GHJK"},
		{"BCDFGHJK", "BCDF-GHJK"},
		{"BCDF-GHJ", ""},
		{"ABCD-EFGH", ""}, // vowels are not in the alphabet
		{"BCDF-GHJK-L", ""},
		{"' OR 1=1", ""},
	} {
		if got := NormalizeUserCode(tc.in); got != tc.want {
			t.Errorf("NormalizeUserCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
