package tui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestMarkdownHTMLStripped: HTML in an answer prints as its text, tags,
// comments and scripts dropped. The wants are what glamour printed with
// bluemonday's StrictPolicy, before third_party/glamour replaced it with
// a stripper on the same tokenizer (PATCH.md): the patch changes nothing
// a user sees.
func TestMarkdownHTMLStripped(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a <b>bold</b> word", "  a bold word"},
		{"<div>\n<p>a &amp; b &lt;c&gt;</p>\n</div>\n\nafter", "  a & b <c>\n  after"},
		{"x <script>alert(1)</script> y", "  x alert(1) y"},
		{"<script>\nalert(1)\n</script>\n\nafter", "\n  after"},
		{"<style>\np { color: red }\n</style>\n\nafter", "\n  after"},
		{"<!-- a comment -->\n\nafter", "\n  after"},
		{"text <!-- inline --> more", "  text  more"},
		{"<title>t</title> tail", "  tail"},
		{"<iframe src=\"x\">inner</iframe> tail", "  tail"},
		{"<noscript><b>x</b></noscript> y", "  x y"},
		{"<object><object>x</object>y</object> z", "  xy z"},
		{"<SCRIPT>bad()</SCRIPT> shout", "  shout"},
		{"<img src=x onerror=alert(1)> img", "   img"},
		{"<a href=\"javascript:x\">link</a> and <br/> break", "  link and  break"},
		{"<details>\n<summary>Sum</summary>\n\nBody text\n</details>", "  Sum\n  Body text"},
		{"a &copy; b &#x41; <span>&quot;q&quot;</span>", "  a © b A \"q\""},
		{"<!DOCTYPE html>\n<html><body>doc</body></html>", "  doc"},
		{"<table><tr><td>cell</td></tr></table>\n\nafter", "  cell\n  after"},
		{"<textarea><b>kept?</b></textarea> t", "  <b>kept?</b> t"},
	} {
		if got := ansi.Strip(markdown(c.in, 80)); got != c.want {
			t.Errorf("markdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
