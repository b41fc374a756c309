package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// diagnosticSource names Loom's diagnostics in the editor.
const diagnosticSource = "loom"

// publishDiagnostics sends the syntax errors the user's edits introduced
// into the document (analysis.Document.SyntaxErrors: none while it never
// parsed cleanly, so a construct the grammar does not know is no red
// squiggle); an empty list clears earlier ones. d.mu is held. Languages
// analysis does not know get no diagnostics at all rather than an empty
// verdict.
func (s *Server) publishDiagnostics(ctx context.Context, d *document) {
	if d.parsed == nil {
		return
	}
	enc := s.encoding()
	errs := d.parsed.SyntaxErrors()
	diags := make([]protocol.Diagnostic, 0, len(errs))
	for _, e := range errs {
		rng, err := rangeOf(d.lines, e.Range.Start.Offset, e.Range.End.Offset, enc)
		if err != nil {
			continue
		}
		diags = append(diags, protocol.Diagnostic{
			Range:    rng,
			Severity: protocol.DiagnosticSeverityError,
			Source:   protocol.NewOptional(diagnosticSource),
			Message:  protocol.String(e.Message),
		})
	}
	params := &protocol.PublishDiagnosticsParams{URI: d.uri, Version: protocol.NewOptional(d.version), Diagnostics: diags}
	if err := s.client.PublishDiagnostics(ctx, params); err != nil {
		s.log.Debug("lsp: cannot publish diagnostics", "uri", d.uri, "err", err)
	}
}
