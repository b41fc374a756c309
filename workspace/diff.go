package workspace

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
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
	switch ch.Kind {
	case Create:
		fd.OrigName = "/dev/null"
		fd.Extended = append(fd.Extended, "new file mode "+mode)
	case Delete:
		fd.NewName = "/dev/null"
		fd.Extended = append(fd.Extended, "deleted file mode "+mode)
	case Rename:
		fd.Extended = append(fd.Extended, "rename from "+ch.Path, "rename to "+ch.NewPath)
	}
	if isBinary(ch.Old) || isBinary(ch.New) {
		fd.Extended = append(fd.Extended, fmt.Sprintf("Binary files %s and %s differ", fd.OrigName, fd.NewName))
		return fd, nil
	}
	old, new := string(ch.Old), string(ch.New)
	if old == new {
		return fd, nil
	}
	u, err := udiff.ToUnifiedDiff(fd.OrigName, fd.NewName, old, udiff.Lines(old, new), contextLines)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", ch.Path, err)
	}
	for _, h := range u.Hunks {
		fd.Hunks = append(fd.Hunks, toHunk(h))
	}
	return fd, nil
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

// isBinary uses git's rule of thumb: a NUL byte in the first 8000 bytes.
func isBinary(b []byte) bool {
	if len(b) > 8000 {
		b = b[:8000]
	}
	return bytes.IndexByte(b, 0) >= 0
}

// IsBinary reports whether content looks binary (a NUL byte near the start).
func IsBinary(b []byte) bool { return isBinary(b) }
