package lsp

import (
	"context"
	"fmt"
	"sync"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// document is an open editor buffer. Its text is also in the workspace
// overlay (when the file is inside the root), so the agent and the tools
// read what the user sees rather than what was last saved.
type document struct {
	mu      sync.Mutex
	uri     uri.URI
	rel     string // workspace-relative path; "" outside the workspace
	version int32
	text    string
	lines   *workspace.Lines
	// parsed is kept across edits so a keystroke costs an incremental
	// reparse; nil for languages analysis does not know.
	parsed *analysis.Document
	// symbols is the last documentSymbol answer, reused as the user types.
	symbols symbolCache
}

// doc returns the open document for u, or nil.
func (s *Server) doc(u uri.URI) *document {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docs[string(u)]
}

// relPath maps a file URI into the workspace ("" when it is outside).
func (s *Server) relPath(u uri.URI) string {
	ws := s.workspace()
	if ws == nil || !u.IsFile() {
		return ""
	}
	rel, err := ws.Resolve(u.FsPath())
	if err != nil {
		return ""
	}
	return rel
}

// DidOpen starts tracking a buffer.
func (s *Server) DidOpen(ctx context.Context, params *protocol.DidOpenTextDocumentParams) error {
	item := params.TextDocument
	d := &document{uri: item.URI, rel: s.relPath(item.URI), version: item.Version}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setText(ctx, item.Text)
	s.mu.Lock()
	if old := s.docs[string(item.URI)]; old != nil {
		old.close()
	}
	s.docs[string(item.URI)] = d
	s.mu.Unlock()
	s.overlay(d)
	s.publishDiagnostics(ctx, d)
	return nil
}

// DidChange applies the client's edits in order; a range edit reparses
// incrementally.
func (s *Server) DidChange(ctx context.Context, params *protocol.DidChangeTextDocumentParams) error {
	d := s.doc(params.TextDocument.URI)
	if d == nil {
		return fmt.Errorf("didChange: %s is not open", params.TextDocument.URI)
	}
	enc := s.encoding()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ch := range params.ContentChanges {
		switch c := ch.(type) {
		case *protocol.TextDocumentContentChangeWholeDocument:
			d.setText(ctx, c.Text)
		case *protocol.TextDocumentContentChangePartial:
			if err := d.splice(ctx, c.Range, c.Text, enc); err != nil {
				// The client and the server disagree about the text: resync
				// from what the client sends next rather than guess.
				return fmt.Errorf("didChange %s: %w", d.uri, err)
			}
		}
	}
	d.version = params.TextDocument.Version
	s.overlay(d)
	s.publishDiagnostics(ctx, d)
	return nil
}

// DidSave keeps the buffer (it is still open) and refreshes it when the
// client sends the saved text; the symbol index is out of date now.
func (s *Server) DidSave(ctx context.Context, params *protocol.DidSaveTextDocumentParams) error {
	if d := s.doc(params.TextDocument.URI); d != nil && params.Text != nil {
		d.mu.Lock()
		if *params.Text != d.text {
			d.setText(ctx, *params.Text)
			s.overlay(d)
		}
		d.mu.Unlock()
	}
	if rel := s.relPath(params.TextDocument.URI); rel != "" {
		s.invalidateIndex(rel)
	}
	return nil
}

// DidChangeWatchedFiles tells the symbol index which files changed on disk
// (clients send it for the files they watch for the server).
func (s *Server) DidChangeWatchedFiles(ctx context.Context, params *protocol.DidChangeWatchedFilesParams) error {
	rels := make([]string, 0, len(params.Changes))
	for _, ev := range params.Changes {
		if rel := s.relPath(ev.URI); rel != "" {
			rels = append(rels, rel)
		}
	}
	s.invalidateIndex(rels...)
	return nil
}

// DidClose forgets the buffer: reads see the disk again.
func (s *Server) DidClose(ctx context.Context, params *protocol.DidCloseTextDocumentParams) error {
	u := params.TextDocument.URI
	s.mu.Lock()
	d := s.docs[string(u)]
	delete(s.docs, string(u))
	ws := s.ws
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	d.mu.Lock()
	d.close()
	d.mu.Unlock()
	if d.rel != "" && ws != nil {
		if err := ws.ClearBuffer(d.rel); err != nil {
			return err
		}
	}
	// Clear the document's diagnostics in the editor.
	return s.client.PublishDiagnostics(ctx, &protocol.PublishDiagnosticsParams{URI: u, Diagnostics: []protocol.Diagnostic{}})
}

// overlay puts the buffer into the workspace overlay. d.mu is held.
func (s *Server) overlay(d *document) {
	ws := s.workspace()
	if d.rel == "" || ws == nil {
		return
	}
	if err := ws.SetBufferText(d.rel, d.text); err != nil {
		s.log.Warn("lsp: cannot overlay buffer", "path", d.rel, "err", err)
	}
}

// encoding returns the negotiated position encoding.
func (s *Server) encoding() workspace.Encoding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps.enc
}

// setText replaces the whole text and parses it afresh.
func (d *document) setText(ctx context.Context, text string) {
	d.text = text
	d.lines = workspace.NewLines(text)
	d.symbols = symbolCache{}
	if d.parsed != nil {
		// Replaced, not parsed anew, so the document remembers that it
		// parsed cleanly once (analysis.Document.SyntaxErrors).
		if d.parsed.Replace(ctx, []byte(text)) == nil {
			return
		}
		d.parsed.Close()
		d.parsed = nil
	}
	path := d.rel
	if path == "" {
		path = d.uri.Path()
	}
	if _, ok := analysis.LanguageForPath(path); !ok {
		return
	}
	if p, err := analysis.NewDocument(ctx, path, []byte(text)); err == nil {
		d.parsed = p
	}
}

// splice replaces rng (in enc) with text, reparsing incrementally.
func (d *document) splice(ctx context.Context, rng protocol.Range, text string, enc workspace.Encoding) error {
	start, err := d.lines.Offset(fromProto(rng.Start), enc)
	if err != nil {
		return err
	}
	end, err := d.lines.Offset(fromProto(rng.End), enc)
	if err != nil {
		return err
	}
	if end < start {
		return fmt.Errorf("range %d:%d-%d:%d ends before it starts", rng.Start.Line, rng.Start.Character, rng.End.Line, rng.End.Character)
	}
	d.text = d.text[:start] + text + d.text[end:]
	if d.parsed == nil {
		d.lines = workspace.NewLines(d.text)
		return nil
	}
	// Indexing the lines of a large file costs a fraction of the reparse,
	// which it does not depend on: do both at once.
	lines := make(chan *workspace.Lines, 1)
	go func(t string) { lines <- workspace.NewLines(t) }(d.text)
	err = d.parsed.Apply(ctx, start, end, []byte(text))
	d.lines = <-lines
	if err != nil {
		// An incremental parse that fails (cancelled, timed out) leaves the
		// old tree; parse the whole text instead.
		d.setText(ctx, d.text)
	}
	return nil
}

func (d *document) close() {
	if d.parsed != nil {
		d.parsed.Close()
		d.parsed = nil
	}
}

// closeDocs frees every document's parser when the session ends.
func (s *Server) closeDocs() {
	s.mu.Lock()
	docs := s.docs
	s.docs = map[string]*document{}
	s.mu.Unlock()
	for _, d := range docs {
		d.mu.Lock()
		d.close()
		d.mu.Unlock()
	}
}
