package ralph

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/loom-agent/loom/llm"
)

// RecordDir is where a repository keeps its loops' records, relative to
// its root. A file per loop in the repository, rather than the thread
// database: a loop belongs to its repository (and to a worktree of it),
// `loom ralph status` needs no database, and the record is small; the
// threads it names stay in the database, where every other run is.
const RecordDir = ".loom/ralph"

// maxRecordDiff caps the diff a record keeps per iteration; the
// iteration's thread (and its commit) has it whole.
const maxRecordDiff = 1 << 20

// maxRecordCheckOutput caps the check output a record keeps per check.
const maxRecordCheckOutput = 8 << 10

// Record is what a loop keeps of itself.
type Record struct {
	ID         string      `json:"id"`
	Started    time.Time   `json:"started"`
	Ended      time.Time   `json:"ended,omitzero"`
	State      State       `json:"state"`
	Why        string      `json:"why,omitempty"`
	Plan       string      `json:"plan,omitempty"`
	Checks     []string    `json:"checks,omitempty"`
	Promise    string      `json:"promise,omitempty"`
	Caps       Caps        `json:"caps"`
	Worktree   string      `json:"worktree,omitempty"`
	Branch     string      `json:"branch,omitempty"`
	Cost       float64     `json:"cost_usd"`
	Iterations []Iteration `json:"iterations"`
}

// Iteration is one iteration of a loop.
type Iteration struct {
	N        int           `json:"n"`
	Thread   string        `json:"thread,omitempty"`
	Started  time.Time     `json:"started"`
	Ended    time.Time     `json:"ended,omitzero"`
	Stop     string        `json:"stop_reason,omitempty"`
	Final    string        `json:"final,omitempty"`
	Files    []string      `json:"files,omitempty"`
	Applied  bool          `json:"applied"`
	Promised bool          `json:"promised"`
	Checks   []CheckResult `json:"checks,omitempty"`
	Commit   string        `json:"commit,omitempty"`
	Usage    llm.Usage     `json:"usage"`
	Cost     float64       `json:"cost_usd"`
	Diff     string        `json:"diff,omitempty"`
}

// NewID names a loop started at now: sortable by start, unique by its
// random tail.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// save writes r to root's .loom/ralph/ID.json atomically, through an
// os.Root so that a .loom symlinked elsewhere cannot lead the write out.
func (r *Record) save(root string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	rt, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.MkdirAll(RecordDir, 0o755); err != nil {
		return fmt.Errorf("the loop's record: %w", err)
	}
	name := path.Join(RecordDir, r.ID+".json")
	tmp := name + ".tmp"
	if err := rt.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("the loop's record: %w", err)
	}
	if err := rt.Rename(tmp, name); err != nil {
		return fmt.Errorf("the loop's record: %w", err)
	}
	return nil
}

// maxRecordSize refuses a record file no loop of ours would write.
const maxRecordSize = 64 << 20

// Records reads the loops recorded in the repository at root, oldest
// first; none is not an error.
func Records(root string) ([]Record, error) {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	entries, err := fs.ReadDir(rt.FS(), RecordDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		name := path.Join(RecordDir, e.Name())
		if fi, err := e.Info(); err != nil || fi.Size() > maxRecordSize {
			return nil, fmt.Errorf("%s: not a loop record (too large or unreadable)", name)
		}
		b, err := rt.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Find returns the loop of root whose ID is id or starts with it; an
// empty id is the latest loop.
func Find(root, id string) (Record, error) {
	all, err := Records(root)
	if err != nil {
		return Record{}, err
	}
	if len(all) == 0 {
		return Record{}, fmt.Errorf("no Ralph loop has run in %s", root)
	}
	if id == "" {
		return all[len(all)-1], nil
	}
	var found []Record
	for _, r := range all {
		if strings.HasPrefix(r.ID, id) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return Record{}, fmt.Errorf("no Ralph loop %q in %s", id, root)
	case 1:
		return found[0], nil
	}
	return Record{}, fmt.Errorf("%q names %d loops; give more of the ID", id, len(found))
}

func capOutput(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + strings.ToValidUTF8(s[len(s)-n:], "")
}

// capDiff keeps a diff's head up to maxRecordDiff, cut at a line.
func capDiff(d string) string {
	if len(d) <= maxRecordDiff {
		return d
	}
	d = d[:maxRecordDiff]
	if i := strings.LastIndexByte(d, '\n'); i >= 0 {
		d = d[:i+1]
	}
	return d + "… (cut; the iteration's thread has the whole diff)\n"
}
