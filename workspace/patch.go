package workspace

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sourcegraph/go-diff/diff"
)

// ErrPatch is wrapped by every error that refuses a unified diff.
var ErrPatch = errors.New("patch does not apply")

// ApplyPatch parses a unified diff (git's format or plain ---/+++ headers,
// as a client or a model writes it) and stages it in the changeset. The
// whole patch is checked before anything is staged: a hunk that does not
// match the current content refuses the patch, naming the file and hunk,
// and leaves the changeset as it was. It returns the paths touched.
func (c *Changeset) ApplyPatch(patch string) ([]string, error) {
	fds, err := parseDiff(patch)
	if err != nil {
		return nil, err
	}
	if len(fds) == 0 {
		return nil, fmt.Errorf("parse diff: no file changes found (expected ---/+++ headers and @@ hunks)")
	}
	// Stage into a scratch changeset that shares this one's staged view, so
	// a failure halfway leaves this one untouched.
	scratch := c.clone()
	var touched []string
	for _, fd := range fds {
		paths, err := scratch.applyFileDiff(fd)
		if err != nil {
			return nil, err
		}
		touched = append(touched, paths...)
	}
	c.mu.Lock()
	c.entries = scratch.entries
	c.mu.Unlock()
	return touched, nil
}

// parseDiff parses a multi-file unified diff with go-diff, keeping the
// file changes it would drop: go-diff returns a final change that has only
// git headers (an empty new file, a pure rename) as trailing content.
func parseDiff(patch string) ([]*diff.FileDiff, error) {
	r := diff.NewMultiFileDiffReaderOptions(strings.NewReader(patch), diff.ParseOptions{KeepCR: true})
	var fds []*diff.FileDiff
	for {
		fd, trailing, err := r.ReadFileWithTrailingContent()
		if fd != nil {
			fds = append(fds, fd)
		}
		if err == io.EOF {
			if strings.HasPrefix(trailing, "diff --git ") {
				fds = append(fds, &diff.FileDiff{Extended: strings.Split(strings.TrimRight(trailing, "\n"), "\n")})
			}
			return fds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse diff: %w", err)
		}
	}
}

// headerNames reads the file names of a header-only change from git's
// extended headers ("diff --git a/x b/y", new/deleted file mode).
func headerNames(ext []string) (oldName, newName string) {
	for _, x := range ext {
		if rest, ok := strings.CutPrefix(x, "diff --git a/"); ok {
			if i := strings.Index(rest, " b/"); i >= 0 {
				oldName, newName = rest[:i], rest[i+3:]
			}
		}
	}
	for _, x := range ext {
		switch {
		case strings.HasPrefix(x, "new file mode "):
			oldName = ""
		case strings.HasPrefix(x, "deleted file mode "):
			newName = ""
		}
	}
	return oldName, newName
}

// clone copies the staged entries (content slices are never mutated in
// place, so sharing them is safe).
func (c *Changeset) clone() *Changeset {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &Changeset{ws: c.ws, entries: make(map[string]*entry, len(c.entries))}
	for k, e := range c.entries {
		cp := *e
		n.entries[k] = &cp
	}
	return n
}

// applyFileDiff stages one file's part of a patch.
func (c *Changeset) applyFileDiff(fd *diff.FileDiff) ([]string, error) {
	oldName, newName := patchPath(fd.OrigName, "a/"), patchPath(fd.NewName, "b/")
	if fd.OrigName == "" && fd.NewName == "" {
		oldName, newName = headerNames(fd.Extended)
	}
	renameFrom, renameTo := extendedValue(fd.Extended, "rename from "), extendedValue(fd.Extended, "rename to ")
	if renameFrom != "" && renameTo != "" {
		oldName, newName = renameFrom, renameTo
	}
	for _, x := range fd.Extended {
		if strings.HasPrefix(x, "GIT binary patch") || strings.HasPrefix(x, "Binary files ") {
			return nil, fmt.Errorf("%w: %s: binary patches are not supported", ErrPatch, firstNonEmpty(newName, oldName))
		}
	}
	switch {
	case oldName == "" && newName == "":
		return nil, fmt.Errorf("%w: a file diff names no file", ErrPatch)
	case oldName == "": // new file
		exists, err := c.Exists(newName)
		if err != nil {
			return nil, err
		}
		if exists {
			return nil, fmt.Errorf("%w: %s: the patch creates it but it already exists", ErrPatch, newName)
		}
		content, err := applyHunks(newName, nil, fd.Hunks)
		if err != nil {
			return nil, err
		}
		rel, err := c.WriteFile(newName, content)
		return []string{rel}, err
	}
	old, err := c.ReadFile(oldName)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPatch, err)
	}
	content, err := applyHunks(oldName, old, fd.Hunks)
	if err != nil {
		return nil, err
	}
	if newName == "" { // deleted file: the hunks must have removed everything
		if len(content) != 0 {
			return nil, fmt.Errorf("%w: %s: the patch deletes it but its hunks do not remove all of its content", ErrPatch, oldName)
		}
		rel, err := c.Remove(oldName)
		return []string{rel}, err
	}
	if newName != oldName {
		src, dst, err := c.Move(oldName, newName)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPatch, err)
		}
		if _, err := c.WriteFile(dst, content); err != nil {
			return nil, err
		}
		return []string{src, dst}, nil
	}
	rel, err := c.WriteFile(oldName, content)
	return []string{rel}, err
}

// patchPath strips git's a/ or b/ prefix and timestamps; /dev/null is "".
func patchPath(name, prefix string) string {
	name = strings.TrimSpace(name)
	if name == "/dev/null" || name == "" {
		return ""
	}
	return strings.TrimPrefix(name, prefix)
}

func extendedValue(ext []string, key string) string {
	for _, x := range ext {
		if strings.HasPrefix(x, key) {
			return strings.TrimRight(strings.TrimPrefix(x, key), "\r\n")
		}
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// patchLine is one line of a hunk body.
type patchLine struct {
	op   byte   // ' ', '-' or '+'
	text string // with its line ending, if it had one
}

// parseBody splits a go-diff hunk body into lines, restoring which lines
// lack a final newline.
func parseBody(h *diff.Hunk) []patchLine {
	body := string(h.Body)
	var lines []patchLine
	for len(body) > 0 {
		i := strings.IndexByte(body, '\n')
		var raw string
		if i < 0 {
			raw, body = body, ""
		} else {
			raw, body = body[:i+1], body[i+1:]
		}
		op, text := raw[0], raw[1:]
		if op != '-' && op != '+' && op != ' ' {
			// Some writers drop the space of an empty context line.
			op, text = ' ', raw
		}
		lines = append(lines, patchLine{op: op, text: text})
	}
	if h.OrigNoNewlineAt > 0 {
		// The '-' line ending at this offset had no newline in the old file.
		off := 0
		for i := range lines {
			off += 1 + len(lines[i].text)
			if int32(off) == h.OrigNoNewlineAt {
				lines[i].text = strings.TrimSuffix(lines[i].text, "\n")
				break
			}
		}
	}
	return lines
}

// applyHunks applies hunks to content. Each hunk is looked for at its stated
// line first and then at growing distances from it, exactly and then
// ignoring whitespace at the ends of lines, as patch does when line numbers
// drift. A hunk that matches nowhere refuses the whole file.
func applyHunks(name string, content []byte, hunks []*diff.Hunk) ([]byte, error) {
	lines := splitKeep(string(content))
	crlf := len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n")
	var out []string
	pos := 0   // next unconsumed line of the old content
	drift := 0 // where earlier hunks matched relative to their stated line
	for i, h := range hunks {
		pl := parseBody(h)
		var old []string
		for _, l := range pl {
			if l.op != '+' {
				old = append(old, l.text)
			}
		}
		want := int(h.OrigStartLine) - 1 + drift
		if len(old) == 0 {
			want = int(h.OrigStartLine) + drift // pure insertion after this line
		}
		at, ok := findHunk(lines, old, want, pos)
		if !ok {
			return nil, &HunkError{File: name, Index: i + 1, Header: hunkHeader(h), Reason: describeMiss(lines, old, want)}
		}
		drift = at - (int(h.OrigStartLine) - 1)
		if len(old) == 0 {
			drift = at - int(h.OrigStartLine)
		}
		out = append(out, lines[pos:at]...)
		j := at
		for _, l := range pl {
			switch l.op {
			case ' ':
				out = append(out, lines[j])
				j++
			case '-':
				j++
			case '+':
				text := l.text
				if crlf && strings.HasSuffix(text, "\n") && !strings.HasSuffix(text, "\r\n") {
					text = strings.TrimSuffix(text, "\n") + "\r\n"
				}
				out = append(out, text)
			}
		}
		pos = j
	}
	out = append(out, lines[pos:]...)
	// A line that lost its newline in the middle of the file (the old last
	// line, followed now by added lines) gets one back.
	for i := 0; i+1 < len(out); i++ {
		if !strings.HasSuffix(out[i], "\n") {
			if crlf {
				out[i] += "\r\n"
			} else {
				out[i] += "\n"
			}
		}
	}
	return []byte(strings.Join(out, "")), nil
}

// HunkError names the hunk of a patch that did not apply.
type HunkError struct {
	File   string
	Index  int // 1-based
	Header string
	Reason string
}

func (e *HunkError) Error() string {
	return fmt.Sprintf("patch does not apply: %s: hunk %d (%s) %s", e.File, e.Index, e.Header, e.Reason)
}

// Unwrap lets errors.Is(err, ErrPatch) hold for hunk failures.
func (e *HunkError) Unwrap() error { return ErrPatch }

func hunkHeader(h *diff.Hunk) string {
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@", h.OrigStartLine, h.OrigLines, h.NewStartLine, h.NewLines)
}

// findHunk returns where old matches lines, searching outward from want but
// never before from (earlier hunks consumed those lines).
func findHunk(lines, old []string, want, from int) (int, bool) {
	// Line numbers come from the patch text: clamp them to the file so a
	// huge one costs nothing.
	want = max(from, min(want, len(lines)))
	for _, eq := range []func(a, b string) bool{sameLine, sameTrimmed} {
		for d := 0; ; d++ {
			lo, hi := want-d, want+d
			if lo < from && hi > len(lines)-len(old) {
				break
			}
			if lo >= from && lo <= len(lines)-len(old) && matchAt(lines, old, lo, eq) {
				return lo, true
			}
			if d > 0 && hi >= from && hi <= len(lines)-len(old) && matchAt(lines, old, hi, eq) {
				return hi, true
			}
		}
	}
	return 0, false
}

func matchAt(lines, old []string, at int, eq func(a, b string) bool) bool {
	for k, o := range old {
		if !eq(lines[at+k], o) {
			return false
		}
	}
	return true
}

// sameLine compares lines ignoring only the difference between CRLF and LF.
func sameLine(a, b string) bool {
	return strings.TrimRight(a, "\r\n") == strings.TrimRight(b, "\r\n")
}

func sameTrimmed(a, b string) bool {
	return strings.TrimSpace(a) == strings.TrimSpace(b)
}

// describeMiss explains a failed hunk by the first old line that differs
// at the stated position.
func describeMiss(lines, old []string, want int) string {
	if len(old) > 0 && want >= 0 && want < len(lines) {
		for k, o := range old {
			if want+k >= len(lines) {
				return fmt.Sprintf("expects %d lines from line %d but the file has only %d lines", len(old), want+1, len(lines))
			}
			if !sameTrimmed(lines[want+k], o) {
				return fmt.Sprintf("does not match the file: line %d is %q but the hunk expects %q",
					want+k+1, strings.TrimRight(lines[want+k], "\r\n"), strings.TrimRight(o, "\r\n"))
			}
		}
	}
	if want > len(lines) {
		return fmt.Sprintf("starts at line %d but the file has only %d lines", want+1, len(lines))
	}
	return "does not match the file's current content anywhere"
}

// splitKeep splits text into lines that keep their line endings.
func splitKeep(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}
