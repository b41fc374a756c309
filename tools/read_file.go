package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/workspace"
)

// Read caps: enough for a model to see a large file in a few calls without
// flooding its context.
const (
	readDefaultLines = 2000
	readMaxBytes     = 256 << 10
	readMaxLineLen   = 2000
)

// ReadFile reads a file with line numbers, a line range and a size cap.
type ReadFile struct{}

type readFileArgs struct {
	Path   string `json:"path"`
	Offset int    `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

func (ReadFile) Spec() Spec {
	return Spec{
		Name: "read_file",
		Description: "Read a text file of the workspace, with line numbers (`   12\\tcode`). " +
			"Reads unsaved editor buffers and staged edits before the disk. " +
			"Use offset (1-based first line) and limit (number of lines, default 2000) to page through large files. " +
			"Binary files are refused.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"},
"offset":{"type":"integer","minimum":1,"description":"first line to read, 1-based (default 1)"},
"limit":{"type":"integer","minimum":1,"description":"number of lines to read (default 2000)"}},
"required":["path"],"additionalProperties":false}`),
		Effect:     EffectRead,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

// ReadFileData is read_file's structured result.
type ReadFileData struct {
	Path       string `json:"path"`
	StartLine  int    `json:"start_line"`
	EndLine    int    `json:"end_line"`
	TotalLines int    `json:"total_lines"`
	Truncated  bool   `json:"truncated"`
	Content    string `json:"content"`
}

func (ReadFile) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a readFileArgs
	if err := decodeArgs("read_file", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("read_file", "path", a.Path); err != nil {
		return Result{}, err
	}
	rel, err := env.Workspace().Resolve(a.Path)
	if err != nil {
		return Result{}, err
	}
	b, err := env.Changes.ReadFile(rel)
	if err != nil {
		return Result{}, err
	}
	if workspace.IsBinary(b) {
		return Result{}, fmt.Errorf("read %s: binary file (%d bytes); read_file reads text only", rel, len(b))
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	start := max(a.Offset, 1)
	limit := a.Limit
	if limit <= 0 {
		limit = readDefaultLines
	}
	if len(lines) == 0 {
		return Result{Text: fmt.Sprintf("%s is empty.", rel), Data: ReadFileData{Path: rel}}, nil
	}
	if start > len(lines) {
		return Result{}, fmt.Errorf("read %s: offset %d is past the end of the file (%d lines)", rel, start, len(lines))
	}
	var out, content strings.Builder
	end := start - 1
	truncated := false
	for i := start - 1; i < len(lines) && i < start-1+limit; i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		if len(line) > readMaxLineLen {
			line = line[:readMaxLineLen] + " [line truncated]"
		}
		if out.Len()+len(line) > readMaxBytes {
			truncated = true
			break
		}
		fmt.Fprintf(&out, "%6d\t%s\n", i+1, line)
		content.WriteString(lines[i])
		end = i + 1
	}
	if end < len(lines) {
		truncated = true
		fmt.Fprintf(&out, "[%s has %d lines; showing %d-%d. Call read_file with offset=%d to read on.]\n", rel, len(lines), start, end, end+1)
	}
	return Result{Text: out.String(), Data: ReadFileData{Path: rel, StartLine: start, EndLine: end,
		TotalLines: len(lines), Truncated: truncated, Content: content.String()}}, nil
}

// Title says what one call does, for front ends to show.
func (ReadFile) Title(args json.RawMessage) string {
	return "Read " + str(titleArgs(args), "path", ".")
}
