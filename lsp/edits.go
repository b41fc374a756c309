package lsp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/workspace"
)

func fromProto(p protocol.Position) workspace.Position {
	return workspace.Position{Line: int(p.Line), Character: int(p.Character)}
}

func toProto(p workspace.Position) protocol.Position {
	return protocol.Position{Line: uint32(p.Line), Character: uint32(p.Character)}
}

func toProtoRange(r workspace.Range) protocol.Range {
	return protocol.Range{Start: toProto(r.Start), End: toProto(r.End)}
}

// rangeOf converts a byte span of lines' text to an LSP range in enc.
func rangeOf(lines *workspace.Lines, start, end int, enc workspace.Encoding) (protocol.Range, error) {
	s, err := lines.Position(start, enc)
	if err != nil {
		return protocol.Range{}, err
	}
	e, err := lines.Position(end, enc)
	if err != nil {
		return protocol.Range{}, err
	}
	return protocol.Range{Start: toProto(s), End: toProto(e)}, nil
}

// editTarget is what workspaceEdit needs to know about the client and the
// open buffers.
type editTarget struct {
	caps clientCaps
	ws   *workspace.Workspace
	// version returns the version of the open buffer holding path's text,
	// ok=false when the file is not open.
	version func(rel string) (int32, bool)
	// label describes the change in a client's review (its refactor
	// preview); used when caps.review and the client honours annotations.
	label string
}

// reviewAnnotation names the one change annotation an edit for review
// carries: every text edit and file operation refers to it, so the client
// asks once (VS Code's refactor preview, where each file and hunk can be
// unticked) before any buffer changes.
const reviewAnnotation protocol.ChangeAnnotationIdentifier = "loom.review"

// workspaceEdit turns a changeset into the WorkspaceEdit the client can
// apply: versioned documentChanges (with create, rename and delete
// operations) when it advertises them, plain changes otherwise. Positions are
// in the negotiated encoding, against the text each file had when the agent
// first read it.
func workspaceEdit(cs *workspace.Changeset, t editTarget) (protocol.WorkspaceEdit, error) {
	files, err := cs.TextEdits(t.caps.enc)
	if err != nil {
		return protocol.WorkspaceEdit{}, err
	}
	fileURI := func(rel string) uri.URI { return uri.File(t.ws.Abs(rel)) }
	if !t.caps.documentChanges {
		return changesEdit(files, fileURI)
	}
	var we protocol.WorkspaceEdit
	var annotation protocol.ChangeAnnotationIdentifier
	if t.caps.review && t.caps.changeAnnotations {
		annotation = reviewAnnotation
		we.ChangeAnnotations = map[protocol.ChangeAnnotationIdentifier]protocol.ChangeAnnotation{annotation: {
			Label:             t.label,
			NeedsConfirmation: ptr(true),
			Description:       ptr("Review Loom's edit before it changes the buffers (setting: loom.review)"),
		}}
	}
	op := protocol.ResourceOperation{AnnotationID: annotation}
	textEdit := func(rel string, edits []workspace.TextEdit, versioned bool) {
		id := protocol.OptionalVersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: fileURI(rel)}}
		if v, ok := t.version(rel); ok && versioned {
			id.Version = ptr(v)
		}
		tde := &protocol.TextDocumentEdit{TextDocument: id, Edits: make([]protocol.TextDocumentEditElement, len(edits))}
		for i, e := range edits {
			te := protocol.TextEdit{Range: toProtoRange(e.Range), NewText: e.NewText}
			if annotation != "" {
				tde.Edits[i] = &protocol.AnnotatedTextEdit{TextEdit: te, AnnotationID: annotation}
			} else {
				tde.Edits[i] = &te
			}
		}
		we.DocumentChanges = append(we.DocumentChanges, tde)
	}
	for _, f := range files {
		if f.Kind != workspace.Modify && !slices.Contains(t.caps.resourceOps, resourceOp(f.Kind)) {
			return protocol.WorkspaceEdit{}, fmt.Errorf("the edit would %s %s, and the client cannot (workspace.workspaceEdit.resourceOperations)", f.Kind, f.Path)
		}
		switch f.Kind {
		case workspace.Modify:
			textEdit(f.Path, f.Edits, true)
		case workspace.Create:
			we.DocumentChanges = append(we.DocumentChanges, &protocol.CreateFile{ResourceOperation: op, Kind: "create", URI: fileURI(f.Path)})
			if len(f.Edits) > 0 {
				textEdit(f.Path, f.Edits, false)
			}
		case workspace.Delete:
			we.DocumentChanges = append(we.DocumentChanges, &protocol.DeleteFile{ResourceOperation: op, Kind: "delete", URI: fileURI(f.Path)})
		case workspace.Rename:
			we.DocumentChanges = append(we.DocumentChanges, &protocol.RenameFile{ResourceOperation: op, Kind: "rename", OldURI: fileURI(f.Path), NewURI: fileURI(f.NewPath)})
			if len(f.Edits) > 0 {
				textEdit(f.NewPath, f.Edits, false)
			}
		}
	}
	return we, nil
}

// changesEdit is the unversioned form. It cannot delete or rename; a new
// file is an insertion into a document that does not exist yet, which
// editors such as Neovim open as an empty buffer and create on save.
func changesEdit(files []workspace.FileEdit, fileURI func(string) uri.URI) (protocol.WorkspaceEdit, error) {
	var cannot []string
	for _, f := range files {
		if f.Kind == workspace.Delete || f.Kind == workspace.Rename {
			cannot = append(cannot, fmt.Sprintf("%s %s", f.Kind, f.Path))
		}
	}
	if len(cannot) > 0 {
		return protocol.WorkspaceEdit{}, fmt.Errorf("the edit would %s, and the client accepts only text changes (no workspace.workspaceEdit.documentChanges)", strings.Join(cannot, ", "))
	}
	we := protocol.WorkspaceEdit{Changes: map[uri.URI][]protocol.TextEdit{}}
	for _, f := range files {
		edits := make([]protocol.TextEdit, len(f.Edits))
		for i, e := range f.Edits {
			edits[i] = protocol.TextEdit{Range: toProtoRange(e.Range), NewText: e.NewText}
		}
		we.Changes[fileURI(f.Path)] = edits
	}
	return we, nil
}

func resourceOp(k workspace.Kind) protocol.ResourceOperationKind {
	switch k {
	case workspace.Create:
		return protocol.ResourceOperationKindCreate
	case workspace.Delete:
		return protocol.ResourceOperationKindDelete
	case workspace.Rename:
		return protocol.ResourceOperationKindRename
	}
	return ""
}

// applyChanges sends the changeset to the client. It reports false, after
// telling the user, when the client rejects it.
func (s *Server) applyChanges(ctx context.Context, cs *workspace.Changeset, label string) (bool, error) {
	s.mu.Lock()
	caps, ws := s.caps, s.ws
	s.mu.Unlock()
	if !caps.applyEdit {
		return false, errors.New("the client does not support workspace/applyEdit")
	}
	// The edits are positioned against the text the agent read. A buffer
	// the user changed meanwhile would take them at the wrong places.
	versions := map[string]int32{}
	for _, ch := range cs.Changes() {
		if ch.Kind == workspace.Create {
			continue
		}
		d := s.doc(uri.File(ws.Abs(ch.Path)))
		if d == nil {
			continue
		}
		d.mu.Lock()
		same, v := d.text == string(ch.Old), d.version
		d.mu.Unlock()
		if !same {
			return false, fmt.Errorf("%s changed in the editor while Loom was working; run it again", ch.Path)
		}
		versions[ch.Path] = v
	}
	we, err := workspaceEdit(cs, editTarget{caps: caps, ws: ws, label: label, version: func(rel string) (int32, bool) {
		v, ok := versions[rel]
		return v, ok
	}})
	if err != nil {
		return false, err
	}
	res, err := s.client.ApplyEdit(ctx, &protocol.ApplyWorkspaceEditParams{Label: ptr(label), Edit: we})
	if err != nil {
		return false, fmt.Errorf("workspace/applyEdit: %w", err)
	}
	if !res.Applied {
		reason := "no reason given"
		if res.FailureReason != nil && *res.FailureReason != "" {
			reason = *res.FailureReason
		}
		s.showMessage(ctx, protocol.MessageTypeWarning, "Loom: the editor rejected the edit: "+reason)
	}
	return res.Applied, nil
}
