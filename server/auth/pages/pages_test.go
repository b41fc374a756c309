package pages

import "testing"

// TestEveryTemplateParses: the templates are parsed at the first page
// served, so a broken one must fail here rather than in front of a user.
func TestEveryTemplateParses(t *testing.T) {
	names, err := files.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	got := pages()
	for _, e := range names {
		if e.Name() == "layout.html" {
			continue
		}
		tm, ok := got[e.Name()]
		if !ok {
			t.Errorf("no template set for %s", e.Name())
			continue
		}
		if tm.Lookup("content") == nil {
			t.Errorf("%s defines no content block", e.Name())
		}
	}
	if len(got) != len(names)-1 {
		t.Errorf("%d template sets for %d pages", len(got), len(names)-1)
	}
}
