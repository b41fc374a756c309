package workspace

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/aymanbagabas/go-udiff/lcs"
	"github.com/sourcegraph/go-diff/diff"
)

// contextLines is the number of unchanged lines around each hunk, as git
// and GNU diff print by default.
const contextLines = 3

// Diff renders the staged changes as one unified diff in git's format, which
// `git apply` and `patch -p1` accept, new, deleted and renamed files
// included. An empty changeset renders as the empty string.
func (c *Changeset) Diff() (string, error) { return RenderDiff(c.Changes()) }

// RenderDiff renders file changes as one unified diff in git's format.
func RenderDiff(changes []FileChange) (string, error) {
	fds := make([]*diff.FileDiff, 0, len(changes))
	for _, ch := range changes {
		fd, err := fileDiff(ch)
		if err != nil {
			return "", err
		}
		fds = append(fds, fd)
	}
	out, err := diff.PrintMultiFileDiff(fds)
	if err != nil {
		return "", fmt.Errorf("print diff: %w", err)
	}
	return string(out), nil
}

// fileDiff computes the hunks of one change with go-udiff and shapes them
// as go-diff's FileDiff with git's extended headers.
func fileDiff(ch FileChange) (*diff.FileDiff, error) {
	fd := &diff.FileDiff{OrigName: "a/" + ch.Path, NewName: "b/" + ch.NewPath}
	fd.Extended = []string{fmt.Sprintf("diff --git a/%s b/%s", ch.Path, ch.NewPath)}
	mode := gitMode(ch.Mode)
	// git's own header lines, index included: git apply and patch read
	// them, and so does go-diff, which needs them to see a change that has
	// no hunks (an empty new file, a pure rename).
	// A plain modification carries no index line: hashing big files costs
	// time and git apply does not need it.
	index := func() string {
		return fmt.Sprintf("index %s..%s %s", blobID(ch.Old, ch.Kind != Create), blobID(ch.New, ch.Kind != Delete), mode)
	}
	switch ch.Kind {
	case Create:
		fd.OrigName = "/dev/null"
		fd.Extended = append(fd.Extended, "new file mode "+mode, strings.TrimSuffix(index(), " "+mode))
	case Delete:
		fd.NewName = "/dev/null"
		fd.Extended = append(fd.Extended, "deleted file mode "+mode, strings.TrimSuffix(index(), " "+mode))
	case Rename:
		fd.Extended = append(fd.Extended, fmt.Sprintf("similarity index %d%%", similarity(ch.Old, ch.New)),
			"rename from "+ch.Path, "rename to "+ch.NewPath)
		if !bytes.Equal(ch.Old, ch.New) {
			fd.Extended = append(fd.Extended, index())
		}
	}
	if isBinary(ch.Old) || isBinary(ch.New) {
		fd.Extended = append(fd.Extended, fmt.Sprintf("Binary files %s and %s differ", fd.OrigName, fd.NewName))
		return fd, nil
	}
	old, new := string(ch.Old), string(ch.New)
	if old == new {
		return fd, nil
	}
	fd.Hunks = hunks(splitKeep(old), splitKeep(new))
	return fd, nil
}

// hunks diffs two files' lines with go-udiff's LCS and groups the changes
// into unified-diff hunks with contextLines of context, as
// udiff.ToUnifiedDiff does. It skips udiff's string-level wrappers, which
// decode every rune to split lines and recount lines from the top of the
// file for every edit: on a 10,000-line file with 50 changes they took
// twice the 5 ms budget on their own.
func hunks(lines, newLines []string) []*diff.Hunk {
	var out []*diff.Hunk
	var cur []udiff.Line
	var fromLine, toLine int // 1-based starts of the current hunk
	last, delta := 0, 0      // next old line not yet emitted; new minus old line count so far
	flush := func() {
		if cur == nil {
			return
		}
		cur = appendEqual(cur, lines, last, last+contextLines)
		out = append(out, toHunk(&udiff.Hunk{FromLine: fromLine, ToLine: toLine, Lines: cur}))
		cur = nil
	}
	for _, d := range lcs.DiffLines(lines, newLines) {
		start, end := d.Start, d.End
		if cur != nil && start > last+2*contextLines {
			flush()
		}
		if cur == nil {
			ctx := max(0, start-contextLines)
			fromLine, toLine = ctx+1, ctx+delta+1
			cur = appendEqual(cur, lines, ctx, start)
		} else {
			cur = appendEqual(cur, lines, last, start)
		}
		for i := start; i < end; i++ {
			cur = append(cur, udiff.Line{Kind: udiff.Delete, Content: lines[i]})
		}
		for _, l := range newLines[d.ReplStart:d.ReplEnd] {
			cur = append(cur, udiff.Line{Kind: udiff.Insert, Content: l})
		}
		delta += (d.ReplEnd - d.ReplStart) - (end - start)
		last = end
	}
	flush()
	return out
}

// appendEqual appends old lines [from, to) as context.
func appendEqual(h []udiff.Line, lines []string, from, to int) []udiff.Line {
	for i := max(from, 0); i < min(to, len(lines)); i++ {
		h = append(h, udiff.Line{Kind: udiff.Equal, Content: lines[i]})
	}
	return h
}

// blobID is the abbreviated git object id of content, or zeros for a side
// that does not exist.
func blobID(content []byte, exists bool) string {
	if !exists {
		return "0000000"
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))[:7]
}

// similarity estimates, as git's rename score does, how much of a renamed
// file's content was kept: the share of its lines left unchanged.
func similarity(old, new []byte) int {
	if bytes.Equal(old, new) {
		return 100
	}
	total := max(bytes.Count(old, []byte("\n")), bytes.Count(new, []byte("\n")), 1)
	changed := 0
	for _, e := range udiff.Lines(string(old), string(new)) {
		changed += max(strings.Count(string(old[e.Start:e.End]), "\n"), strings.Count(e.New, "\n"))
	}
	return max(0, min(99, 100*(total-changed)/total))
}

// toHunk converts a go-udiff hunk to go-diff's form: a body of prefixed
// lines, with go-diff's markers for a last line without a newline.
func toHunk(h *udiff.Hunk) *diff.Hunk {
	out := &diff.Hunk{OrigStartLine: int32(h.FromLine), NewStartLine: int32(h.ToLine)}
	var body bytes.Buffer
	for _, l := range h.Lines {
		prefix := byte(' ')
		switch l.Kind {
		case udiff.Delete:
			prefix = '-'
			out.OrigLines++
		case udiff.Insert:
			prefix = '+'
			out.NewLines++
		default:
			out.OrigLines++
			out.NewLines++
		}
		body.WriteByte(prefix)
		body.WriteString(l.Content)
		if !strings.HasSuffix(l.Content, "\n") && l.Kind == udiff.Delete {
			// The old file ends here without a newline; go-diff keeps the
			// line break in the body and prints the marker at this offset.
			body.WriteByte('\n')
			out.OrigNoNewlineAt = int32(body.Len())
		}
	}
	// A hunk that covers no lines of one side starts at the line before.
	if out.OrigLines == 0 {
		out.OrigStartLine--
	}
	if out.NewLines == 0 {
		out.NewStartLine--
	}
	out.Body = body.Bytes()
	return out
}

func gitMode(m fs.FileMode) string {
	if m&0o111 != 0 {
		return "100755"
	}
	return "100644"
}

// binarySniffLen is how much of a file isBinary looks at.
const binarySniffLen = 8000

// isBinary uses git's rule of thumb: a NUL byte in the first 8000 bytes.
func isBinary(b []byte) bool {
	if len(b) > binarySniffLen {
		b = b[:binarySniffLen]
	}
	return bytes.IndexByte(b, 0) >= 0
}

// IsBinary reports whether content looks binary (a NUL byte near the start).
func IsBinary(b []byte) bool { return isBinary(b) }
