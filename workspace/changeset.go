package workspace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Kind is what a file change does.
type Kind string

const (
	Create Kind = "create"
	Modify Kind = "modify"
	Delete Kind = "delete"
	Rename Kind = "rename"
)

// FileChange is one staged file operation. Old and BaseHash describe the
// content the change was made against; Apply refuses it when the disk no
// longer holds that content.
type FileChange struct {
	Kind     Kind        `json:"kind"`
	Path     string      `json:"path"`                // the file before the change (for Create, the new file)
	NewPath  string      `json:"new_path"`            // the file after the change; differs from Path only for Rename
	Old      []byte      `json:"old,omitempty"`       // nil for Create
	New      []byte      `json:"new,omitempty"`       // nil for Delete
	BaseHash string      `json:"base_hash,omitempty"` // Hash(Old); empty for Create, which needs the file absent
	Mode     fs.FileMode `json:"mode"`
}

// Hash names a file content in base hashes.
func Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// entry is the staged state of one path: what it was when first touched and
// what it is now.
type entry struct {
	baseExists bool
	base       []byte
	mode       fs.FileMode
	exists     bool
	content    []byte
	movedFrom  string // the path whose content this one took over by a move
}

// Changeset stages edits over a workspace without touching the disk. Its
// reads see staged content first, then open buffers, then the disk. It is
// safe for concurrent use.
type Changeset struct {
	ws      *Workspace
	mu      sync.Mutex
	entries map[string]*entry
}

// NewChangeset starts an empty changeset over the workspace.
func (w *Workspace) NewChangeset() *Changeset {
	return &Changeset{ws: w, entries: map[string]*entry{}}
}

// Workspace returns the workspace the changeset stages edits over.
func (c *Changeset) Workspace() *Workspace { return c.ws }

// load returns the entry for rel, reading its base on first touch.
// The caller holds c.mu.
func (c *Changeset) load(rel string) (*entry, error) {
	if e, ok := c.entries[rel]; ok {
		return e, nil
	}
	e := &entry{mode: 0o644}
	mode, exists, err := c.ws.statDisk(rel)
	if err != nil {
		return nil, err
	}
	buf, hasBuf := c.ws.Buffer(rel)
	switch {
	case hasBuf:
		e.baseExists, e.base = true, buf
		if exists {
			e.mode = mode.Perm()
		}
	case exists:
		if mode.IsDir() {
			return nil, fmt.Errorf("%s is a folder", rel)
		}
		b, err := c.ws.readDisk(rel)
		if err != nil {
			return nil, err
		}
		e.baseExists, e.base, e.mode = true, b, mode.Perm()
	}
	e.exists, e.content = e.baseExists, e.base
	c.entries[rel] = e
	return e, nil
}

// ReadFile reads path as the changeset sees it.
func (c *Changeset) ReadFile(path string) ([]byte, error) {
	rel, err := c.ws.Resolve(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e, staged := c.entries[rel]
	c.mu.Unlock()
	if !staged {
		return c.ws.ReadFile(rel)
	}
	if !e.exists {
		return nil, fmt.Errorf("read %s: no such file (deleted in this changeset): %w", rel, fs.ErrNotExist)
	}
	return e.content, nil
}

// Exists reports whether path exists as the changeset sees it.
func (c *Changeset) Exists(path string) (bool, error) {
	rel, err := c.ws.Resolve(path)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	e, staged := c.entries[rel]
	c.mu.Unlock()
	if staged {
		return e.exists, nil
	}
	if _, ok := c.ws.BufferSize(rel); ok {
		return true, nil
	}
	_, exists, err := c.ws.statDisk(rel)
	return exists, err
}

// Staged returns the staged state of every touched path: true for a file
// that exists after the changes, false for one removed. Listings use it to
// show created files and hide deleted ones.
func (c *Changeset) Staged() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]bool, len(c.entries))
	for rel, e := range c.entries {
		m[rel] = e.exists
	}
	return m
}

// WriteFile stages the new content of path, creating it if needed.
func (c *Changeset) WriteFile(path string, content []byte) (string, error) {
	rel, err := c.ws.Resolve(path)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", fmt.Errorf("write %s: is the workspace root", path)
	}
	if err := checkNotVCS("write", rel); err != nil {
		return "", err
	}
	if err := checkNewName(rel); err != nil {
		return "", err
	}
	if int64(len(content)) > c.ws.maxBytes {
		return "", fmt.Errorf("write %s: %d bytes is larger than the %d-byte limit", rel, len(content), c.ws.maxBytes)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.load(rel)
	if err != nil {
		return "", err
	}
	if !e.baseExists {
		if err := c.ws.checkTwin(rel); err != nil {
			return "", err
		}
	}
	e.exists, e.content = true, append([]byte(nil), content...)
	return rel, nil
}

// Remove stages the deletion of path.
func (c *Changeset) Remove(path string) (string, error) {
	rel, err := c.ws.Resolve(path)
	if err != nil {
		return "", err
	}
	if err := checkNotVCS("delete", rel); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.load(rel)
	if err != nil {
		return "", err
	}
	if !e.exists {
		return "", fmt.Errorf("delete %s: no such file: %w", rel, fs.ErrNotExist)
	}
	e.exists, e.content = false, nil
	return rel, nil
}

// Move stages moving from to to; to must not exist.
func (c *Changeset) Move(from, to string) (string, string, error) {
	src, err := c.ws.Resolve(from)
	if err != nil {
		return "", "", err
	}
	dst, err := c.ws.Resolve(to)
	if err != nil {
		return "", "", err
	}
	for _, rel := range []string{src, dst} {
		if err := checkNotVCS("move", rel); err != nil {
			return "", "", err
		}
	}
	if err := checkNewName(dst); err != nil {
		return "", "", err
	}
	if src == dst {
		return "", "", fmt.Errorf("move %s: source and destination are the same file", src)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	se, err := c.load(src)
	if err != nil {
		return "", "", err
	}
	if !se.exists {
		return "", "", fmt.Errorf("move %s: no such file: %w", src, fs.ErrNotExist)
	}
	de, err := c.load(dst)
	if err != nil {
		return "", "", err
	}
	if de.exists {
		return "", "", fmt.Errorf("move %s to %s: destination already exists", src, dst)
	}
	if err := c.ws.checkTwin(dst); err != nil {
		return "", "", err
	}
	de.exists, de.content, de.mode = true, se.content, se.mode
	de.movedFrom = src
	if se.movedFrom != "" {
		de.movedFrom = se.movedFrom
	}
	se.exists, se.content, se.movedFrom = false, nil, ""
	return src, dst, nil
}

// checkNewName refuses names for new files that diffs cannot carry
// unquoted and that are nearly always a slip or a disguise: control
// characters, invisible format characters (U+202E RIGHT-TO-LEFT OVERRIDE
// shows "gpj.exe" as "exe.jpg"), invalid UTF-8, quotes, backslashes, and
// elements with leading or trailing spaces.
func checkNewName(rel string) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("file name %q is not valid UTF-8", rel)
	}
	for _, elem := range strings.Split(rel, "/") {
		if strings.TrimSpace(elem) != elem {
			return fmt.Errorf("file name %q has an element with leading or trailing spaces", rel)
		}
		for _, r := range elem {
			if unicode.IsControl(r) || r == '"' || r == '\\' {
				return fmt.Errorf("file name %q contains a control character, a quote or a backslash", rel)
			}
			if unicode.Is(unicode.Cf, r) {
				return fmt.Errorf("file name %q contains the invisible character %U, which can disguise how the name reads", rel, r)
			}
		}
	}
	return nil
}

// checkTwin refuses a new name that reads the same as an existing one but
// differs in bytes: "café" written with a combining accent (NFD) beside
// "café" with a precomposed one (NFC). Both would show in a diff as the
// same file.
func (w *Workspace) checkTwin(rel string) error {
	dir := "."
	for elem := range strings.SplitSeq(rel, "/") {
		if !isASCII(elem) { // an ASCII name has no other spelling
			entries, err := w.readDir(dir)
			if err != nil {
				return nil // a folder still to be made has no twins
			}
			want := norm.NFC.String(elem)
			for _, e := range entries {
				if e.Name() != elem && norm.NFC.String(e.Name()) == want {
					return fmt.Errorf("file name %q looks the same as the existing %q but is spelled with other Unicode code points", rel, path.Join(dir, e.Name()))
				}
			}
		}
		dir = path.Join(dir, elem)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Empty reports whether the changeset changes nothing.
func (c *Changeset) Empty() bool { return len(c.Changes()) == 0 }

// Changes returns the staged file operations sorted by path. A move whose
// source existed before the changeset becomes one Rename (with the content
// change, if any); staged edits that end where they began are dropped.
func (c *Changeset) Changes() []FileChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []FileChange
	renamedAway := map[string]bool{}
	for rel, e := range c.entries {
		if e.exists && !e.baseExists && e.movedFrom != "" {
			if src, ok := c.entries[e.movedFrom]; ok && src.baseExists && !src.exists {
				renamedAway[e.movedFrom] = true
				out = append(out, FileChange{Kind: Rename, Path: e.movedFrom, NewPath: rel,
					Old: src.base, New: e.content, BaseHash: Hash(src.base), Mode: src.mode})
			}
		}
	}
	for rel, e := range c.entries {
		switch {
		case renamedAway[rel]:
		case e.exists && !e.baseExists:
			if e.movedFrom != "" && renamedAway[e.movedFrom] {
				continue
			}
			out = append(out, FileChange{Kind: Create, Path: rel, NewPath: rel, New: e.content, Mode: e.mode})
		case !e.exists && e.baseExists:
			out = append(out, FileChange{Kind: Delete, Path: rel, NewPath: rel, Old: e.base, BaseHash: Hash(e.base), Mode: e.mode})
		case e.exists && e.baseExists && !bytes.Equal(e.base, e.content):
			out = append(out, FileChange{Kind: Modify, Path: rel, NewPath: rel, Old: e.base, New: e.content, BaseHash: Hash(e.base), Mode: e.mode})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].NewPath < out[j].NewPath
	})
	return out
}

// Restage makes a changeset holding changes that were staged earlier (and
// kept, as a thread keeps its unapplied edits), with their original bases:
// reads see the staged content, and Apply still refuses if the disk moved
// on since they were made. Every path is checked again as staging checks
// it.
func (w *Workspace) Restage(changes []FileChange) (*Changeset, error) {
	c := w.NewChangeset()
	for _, ch := range changes {
		for _, p := range []string{ch.Path, ch.NewPath} {
			rel, err := w.Resolve(p)
			if err != nil {
				return nil, err
			}
			if rel != p || rel == "." {
				return nil, fmt.Errorf("staged change to %s: the path is not a file of this workspace", p)
			}
			if err := checkNotVCS("stage", rel); err != nil {
				return nil, err
			}
		}
		if _, ok := c.entries[ch.Path]; ok {
			return nil, fmt.Errorf("staged change to %s: the file is changed twice", ch.Path)
		}
		mode := ch.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		switch ch.Kind {
		case Create:
			if err := checkNewName(ch.Path); err != nil {
				return nil, err
			}
			c.entries[ch.Path] = &entry{mode: mode, exists: true, content: ch.New}
		case Modify:
			c.entries[ch.Path] = &entry{baseExists: true, base: ch.Old, mode: mode, exists: true, content: ch.New}
		case Delete:
			c.entries[ch.Path] = &entry{baseExists: true, base: ch.Old, mode: mode}
		case Rename:
			if err := checkNewName(ch.NewPath); err != nil {
				return nil, err
			}
			if _, ok := c.entries[ch.NewPath]; ok {
				return nil, fmt.Errorf("staged change to %s: the file is changed twice", ch.NewPath)
			}
			c.entries[ch.Path] = &entry{baseExists: true, base: ch.Old, mode: mode}
			c.entries[ch.NewPath] = &entry{mode: mode, exists: true, content: ch.New, movedFrom: ch.Path}
		default:
			return nil, fmt.Errorf("staged change to %s: unknown kind %q", ch.Path, ch.Kind)
		}
		if ch.Kind != Create && Hash(ch.Old) != ch.BaseHash {
			return nil, fmt.Errorf("staged change to %s: its base does not match its hash", ch.Path)
		}
	}
	return c, nil
}

// Discard drops every staged edit.
func (c *Changeset) Discard() {
	c.mu.Lock()
	c.entries = map[string]*entry{}
	c.mu.Unlock()
}
