package tui

import (
	"context"
	"fmt"
	"io"

	"github.com/sourcegraph/go-diff/diff"

	"github.com/loom-agent/loom/workspace"
)

// Review is /apply review: the staged edits cut into the parts one
// accepts or skips, file by file and, within a modified file, hunk by
// hunk. Accepted parts are applied together, all or nothing, through a
// changeset holding the original bases (a file changed on disk since
// refuses the whole apply); skipped parts stay staged.
type Review struct {
	Parts  []ReviewPart
	Accept []bool
	files  []workspace.FileChange
}

// ReviewPart is one decision: a hunk of a modified file, or a whole file
// created, deleted, renamed or binary.
type ReviewPart struct {
	File string
	// Diff is what is shown: the file's header and the hunk.
	Diff string

	file int        // index into Review.files
	hunk *diff.Hunk // nil: the whole file
}

// Review cuts the staged edits into parts; none staged is a nil Review.
func (c *Conversation) Review() (*Review, error) {
	changes := c.changes.Changes()
	if len(changes) == 0 {
		return nil, nil
	}
	r := &Review{files: changes}
	for i, ch := range changes {
		text, err := workspace.RenderDiff([]workspace.FileChange{ch})
		if err != nil {
			return nil, err
		}
		fds, err := diff.ParseMultiFileDiff([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("reviewing %s: %w", ch.NewPath, err)
		}
		if ch.Kind != workspace.Modify || len(fds) != 1 || len(fds[0].Hunks) == 0 {
			r.Parts = append(r.Parts, ReviewPart{File: ch.NewPath, Diff: text, file: i})
			continue
		}
		fd := fds[0]
		for _, h := range fd.Hunks {
			one := *fd
			one.Hunks = []*diff.Hunk{h}
			b, err := diff.PrintFileDiff(&one)
			if err != nil {
				return nil, fmt.Errorf("reviewing %s: %w", ch.NewPath, err)
			}
			r.Parts = append(r.Parts, ReviewPart{File: ch.NewPath, Diff: string(b), file: i, hunk: h})
		}
	}
	r.Accept = make([]bool, len(r.Parts))
	return r, nil
}

// ApplyReview applies the accepted parts of r and keeps the rest staged.
func (c *Conversation) ApplyReview(r *Review, out io.Writer) {
	// The changeset to apply starts from each file's original base: a
	// modified file as it was (its accepted hunks are patched in below), a
	// whole-file change as staged when accepted.
	var start []workspace.FileChange
	hunks := map[int][]*diff.Hunk{}
	accepted := map[int]int{} // parts accepted per file
	parts := map[int]int{}
	for i, p := range r.Parts {
		parts[p.file]++
		if !r.Accept[i] {
			continue
		}
		accepted[p.file]++
		if p.hunk != nil {
			hunks[p.file] = append(hunks[p.file], p.hunk)
		}
	}
	var patch []*diff.FileDiff
	for i, ch := range r.files {
		switch {
		case accepted[i] == 0:
		case ch.Kind == workspace.Modify && len(hunks[i]) > 0:
			start = append(start, workspace.FileChange{Kind: workspace.Modify, Path: ch.Path, NewPath: ch.Path,
				Old: ch.Old, New: ch.Old, BaseHash: ch.BaseHash, Mode: ch.Mode})
			patch = append(patch, &diff.FileDiff{OrigName: "a/" + ch.Path, NewName: "b/" + ch.Path, Hunks: hunks[i]})
		default:
			start = append(start, ch)
		}
	}
	if len(start) == 0 {
		fmt.Fprintln(out, "Nothing accepted; the edits stay staged.")
		return
	}
	cs, err := c.ws.Restage(start)
	if err == nil && len(patch) > 0 {
		var b []byte
		if b, err = diff.PrintMultiFileDiff(patch); err == nil {
			_, err = cs.ApplyPatch(string(b))
		}
	}
	if err != nil {
		fmt.Fprintf(out, "Not applied: %v\n", err)
		return
	}
	// What stays staged: the files skipped whole, and the skipped hunks of
	// the others, now on top of what was applied.
	var rest []workspace.FileChange
	for i, ch := range r.files {
		switch {
		case accepted[i] == 0:
			rest = append(rest, ch)
		case accepted[i] < parts[i]:
			now, err := cs.ReadFile(ch.Path)
			if err != nil {
				fmt.Fprintf(out, "Not applied: %v\n", err)
				return
			}
			rest = append(rest, workspace.FileChange{Kind: workspace.Modify, Path: ch.Path, NewPath: ch.Path,
				Old: now, New: ch.New, BaseHash: workspace.Hash(now), Mode: ch.Mode})
		}
	}
	remaining, err := c.ws.Restage(rest)
	if err != nil {
		fmt.Fprintf(out, "Not applied: %v\n", err)
		return
	}
	applied, err := cs.Apply()
	if err != nil {
		fmt.Fprintf(out, "Not applied: %v\n", err)
		return
	}
	c.changes = remaining
	if len(rest) == 0 {
		c.runs.DropChanges(context.Background(), c.thread)
	}
	c.applied(applied, out)
	if n := c.Staged(); n > 0 {
		fmt.Fprintf(out, "%d file(s) keep skipped edits staged: /diff shows them.\n", n)
	}
}
