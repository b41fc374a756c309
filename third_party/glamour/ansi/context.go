package ansi

import (
	"strings"

	"golang.org/x/net/html"
)

// RenderContext holds the current rendering options and state.
type RenderContext struct {
	options Options

	blockStack *BlockStack
	table      *TableElement
}

// NewRenderContext returns a new RenderContext.
func NewRenderContext(options Options) RenderContext {
	return RenderContext{
		options:    options,
		blockStack: &BlockStack{},
		table:      &TableElement{},
	}
}

// SanitizeHTML sanitizes HTML content.
func (ctx RenderContext) SanitizeHTML(s string, trimSpaces bool) string {
	s = stripHTML(s)
	if trimSpaces {
		s = strings.TrimSpace(s)
	}
	return s
}

// Loom's patch: upstream strips HTML with bluemonday's StrictPolicy and
// unescapes the result. stripHTML gives the same text with the tokenizer
// bluemonday itself uses, so that bluemonday and its CSS packages are not
// linked: their initialisation compiles some 70 regular expressions, 6 ms
// of every start of any program that links glamour. As StrictPolicy does,
// it drops every tag, comment and doctype and keeps the text, except the
// text of script and style elements and the content of the elements
// bluemonday skips (skipContent), counted as bluemonday counts them.
func stripHTML(s string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	var (
		skip     bool
		skipping int
		recent   string // the element started last, as bluemonday tracks it
	)
	for {
		switch z.Next() {
		case html.ErrorToken:
			// io.EOF; the tokenizer has no other error without a
			// buffer limit.
			return b.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			recent = string(name)
			if recent == "script" || recent == "style" {
				continue
			}
			if skipContent[recent] {
				skip = true
				skipping++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if recent == string(name) {
				recent = ""
			}
			if string(name) == "script" || string(name) == "style" {
				continue
			}
			if skipContent[string(name)] {
				skipping--
				if skipping == 0 {
					skip = false
				}
			}
		case html.TextToken:
			if !skip && recent != "script" && recent != "style" {
				b.Write(z.Text())
			}
		}
	}
}

// skipContent are the elements whose content bluemonday v1.0.27's
// policies drop with them.
var skipContent = map[string]bool{
	"frame": true, "frameset": true, "iframe": true, "noembed": true, "noframes": true, "noscript": true,
	"nostyle": true, "object": true, "script": true, "style": true, "title": true,
}
