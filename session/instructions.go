package session

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/workspace"
)

// maxInstructions bounds what one instructions file adds to the system
// prompt, in bytes; the rest is cut with a note.
const maxInstructions = 32 << 10

// ProjectInstructions are the instructions for the model that every front
// end's runs carry: the user's own AGENTS.md in Loom's config folder,
// then the repository's from its root down to dir (a folder of the
// workspace; "" is the root), each folder's AGENTS.md or, where there is
// none, its CLAUDE.md. The repository's files are read through the
// workspace, so one that leads outside it is not read.
func ProjectInstructions(ws *workspace.Workspace, dir string) string {
	var parts []string
	if cfg := llm.ConfigPath(); cfg != "" {
		user := filepath.Join(filepath.Dir(cfg), "AGENTS.md")
		if b, err := readCapped(user); err == nil {
			parts = append(parts, section(user, b))
		}
	}
	rel := "."
	if dir != "" {
		r, err := ws.Resolve(dir)
		if err != nil {
			slog.Debug("project instructions: the working folder is outside the workspace", "dir", dir, "err", err)
		} else {
			rel = r
		}
	}
	folders := []string{"."}
	if rel != "." {
		cur := ""
		for _, name := range strings.Split(filepath.ToSlash(rel), "/") {
			cur = filepath.ToSlash(filepath.Join(cur, name))
			folders = append(folders, cur)
		}
	}
	for _, f := range folders {
		for _, name := range []string{"AGENTS.md", "CLAUDE.md"} {
			p := filepath.ToSlash(filepath.Join(f, name))
			b, err := ws.ReadFile(p)
			if err != nil {
				continue
			}
			if len(b) > maxInstructions {
				b = append(b[:maxInstructions:maxInstructions], "\n[… cut: the file is longer]"...)
			}
			parts = append(parts, section(p, b))
			break // CLAUDE.md only where there is no AGENTS.md
		}
	}
	return strings.Join(parts, "\n")
}

func section(name string, b []byte) string {
	return fmt.Sprintf("From %s:\n%s\n", name, strings.TrimSpace(string(b)))
}

// readCapped reads a file outside the workspace (the user's own), at
// most maxInstructions bytes of it.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxInstructions))
}
