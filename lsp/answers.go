package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// showAnswer shows the model's text: as a Markdown document when the client
// can show one served from memory, else as a message.
func (s *Server) showAnswer(ctx context.Context, text string) {
	if text == "" {
		s.showMessage(ctx, protocol.MessageTypeInfo, "Loom: done, no edits.")
		return
	}
	s.mu.Lock()
	canShow := s.caps.showDocument && s.caps.textDocumentContent
	s.nextID++
	u := uri.URI(fmt.Sprintf("%s:/answers/%d.md", answerScheme, s.nextID))
	if canShow {
		s.answers[string(u)] = text
	}
	s.mu.Unlock()
	if canShow {
		res, err := s.client.ShowDocument(ctx, &protocol.ShowDocumentParams{URI: u, TakeFocus: ptr(true)})
		if err == nil && res.Success {
			return
		}
	}
	s.showMessage(ctx, protocol.MessageTypeInfo, text)
}

// TextDocumentContent serves the answers shown with showDocument.
func (s *Server) TextDocumentContent(ctx context.Context, params *protocol.TextDocumentContentParams) (*protocol.TextDocumentContentResult, error) {
	s.mu.Lock()
	text, ok := s.answers[string(params.URI)]
	s.mu.Unlock()
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no such Loom document: %s", params.URI)
	}
	return &protocol.TextDocumentContentResult{Text: text}, nil
}

func (s *Server) showMessage(ctx context.Context, typ protocol.MessageType, msg string) {
	if err := s.client.ShowMessage(context.WithoutCancel(ctx), &protocol.ShowMessageParams{Type: typ, Message: msg}); err != nil {
		s.log.Debug("lsp: cannot show a message", "err", err)
	}
}
