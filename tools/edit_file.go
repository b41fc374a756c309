package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// EditFile stages an exact search-and-replace in one file.
type EditFile struct{}

type editFileArgs struct {
	Path       string  `json:"path"`
	OldText    string  `json:"old_text"`
	NewText    *string `json:"new_text"`
	ReplaceAll bool    `json:"replace_all,omitempty"`
}

func (EditFile) Spec() Spec {
	return Spec{
		Name: "edit_file",
		Description: "Replace exact text in a file. old_text must match the file exactly once, " +
			"whitespace and indentation included (copy it from read_file without the line numbers); " +
			"add surrounding lines to make it unique, or set replace_all to replace every occurrence. " +
			"When it does not match, the error shows the closest lines of the file. " +
			"The edit is staged in the changeset, not written to disk.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"},
"old_text":{"type":"string","description":"the exact text to replace"},
"new_text":{"type":"string","description":"the replacement text"},
"replace_all":{"type":"boolean","description":"replace every occurrence instead of requiring exactly one"}},
"required":["path","old_text","new_text"],"additionalProperties":false}`),
		Effect:      EffectEdit,
		PathArgs:    []string{"path"},
		Destructive: true,
	}
}

func (EditFile) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a editFileArgs
	if err := decodeArgs("edit_file", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("edit_file", "path", a.Path); err != nil {
		return Result{}, err
	}
	if a.NewText == nil {
		return Result{}, fmt.Errorf("invalid arguments for edit_file: %q is required", "new_text")
	}
	rel, err := env.Workspace().Resolve(a.Path)
	if err != nil {
		return Result{}, err
	}
	b, err := env.Changes.ReadFile(rel)
	if err != nil {
		return Result{}, err
	}
	out, n, err := Replace(string(b), a.OldText, *a.NewText, a.ReplaceAll)
	if err != nil {
		return Result{}, fmt.Errorf("edit %s: %w", rel, err)
	}
	if _, err := env.Changes.WriteFile(rel, []byte(out)); err != nil {
		return Result{}, err
	}
	return EditResult(ctx, env, fmt.Sprintf("Staged: replaced %d occurrence(s) in %s.", n, rel), rel)
}

// Replace replaces old with new in content: exactly one occurrence, or all
// of them with all set. It returns the new content and the count. When old
// does not match, the error quotes the closest lines of content so a model
// can correct its text.
func Replace(content, old, new string, all bool) (string, int, error) {
	if old == "" {
		return "", 0, fmt.Errorf("old_text is empty; use write_file to create a file or give the text to replace")
	}
	if old == new {
		return "", 0, fmt.Errorf("old_text and new_text are the same; nothing to change")
	}
	n := strings.Count(content, old)
	// A file with CRLF line endings matches old text written with LF.
	if n == 0 && strings.Contains(content, "\r\n") && !strings.Contains(old, "\r\n") {
		crlfOld := strings.ReplaceAll(old, "\n", "\r\n")
		if c := strings.Count(content, crlfOld); c > 0 {
			old, new, n = crlfOld, strings.ReplaceAll(new, "\n", "\r\n"), c
		}
	}
	switch {
	case n == 0:
		return "", 0, fmt.Errorf("old_text was not found.\n%s", closest(content, old))
	case n > 1 && !all:
		return "", 0, fmt.Errorf("old_text matches %d times (at lines %s); include more surrounding lines to make it unique, or set replace_all", n, matchLines(content, old, 5))
	}
	if all {
		return strings.ReplaceAll(content, old, new), n, nil
	}
	return strings.Replace(content, old, new, 1), 1, nil
}

// matchLines lists the 1-based lines where old starts, at most limit.
func matchLines(content, old string, limit int) string {
	var at []string
	off := 0
	for len(at) < limit {
		i := strings.Index(content[off:], old)
		if i < 0 {
			break
		}
		at = append(at, fmt.Sprint(strings.Count(content[:off+i], "\n")+1))
		off += i + len(old)
	}
	return strings.Join(at, ", ")
}

// closest finds the lines of content most like old and quotes them. It
// scores each window of as many lines as old has by the words its lines
// share with old's, which is cheap enough for large files and catches the
// usual slips: wrong indentation, a changed word, a stale line.
func closest(content, old string) string {
	lines := strings.Split(content, "\n")
	want := strings.Split(strings.TrimRight(old, "\n"), "\n")
	// Whitespace slips are the most common: say so plainly.
	if at := indexTrimmed(lines, want); at >= 0 {
		return fmt.Sprintf("The text matches lines %d-%d if whitespace is ignored; the file has:\n%s\nCopy the text exactly, indentation included.",
			at+1, at+len(want), quoteLines(lines, at, at+len(want)))
	}
	wantWords := make([]map[string]bool, len(want))
	for k, w := range want {
		wantWords[k] = words(w)
	}
	lineWords := make([]map[string]bool, len(lines))
	for i, l := range lines {
		lineWords[i] = words(l)
	}
	best, bestScore := -1, 0.0
	for i := 0; i+len(want) <= len(lines) || (i == 0 && len(lines) > 0); i++ {
		score := 0.0
		for k := range want {
			if i+k < len(lines) {
				score += jaccard(lineWords[i+k], wantWords[k])
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 || bestScore == 0 {
		return "No lines of the file resemble it; read the file again before editing."
	}
	end := min(best+len(want), len(lines))
	return fmt.Sprintf("The closest lines are %d-%d:\n%s", best+1, end, quoteLines(lines, best, end))
}

func indexTrimmed(lines, want []string) int {
	for i := 0; i+len(want) <= len(lines); i++ {
		ok := true
		for k, w := range want {
			if strings.TrimSpace(lines[i+k]) != strings.TrimSpace(w) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

func quoteLines(lines []string, from, to int) string {
	var b strings.Builder
	for i := from; i < to && i < len(lines); i++ {
		fmt.Fprintf(&b, "%6d\t%s\n", i+1, strings.TrimRight(lines[i], "\r"))
	}
	return strings.TrimRight(b.String(), "\n")
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' }) {
		m[w] = true
	}
	return m
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// Title says what one call does, for front ends to show.
func (EditFile) Title(args json.RawMessage) string {
	return "Edit " + str(titleArgs(args), "path", ".")
}
