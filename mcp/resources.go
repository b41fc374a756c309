package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// The resources' addresses besides file:// ones.
const (
	repoMapURI        = "loom://repomap"
	threadURIPrefix   = "loom://threads/"
	fileURITemplate   = "file:///{+path}"
	threadURITemplate = "loom://threads/{id}"
)

// resources are the repo map and, by template, the workspace's files and,
// when the server keeps threads, its threads.
func (s *Server) resources() ([]server.ServerResource, []server.ServerResourceTemplate) {
	res := []server.ServerResource{{
		Resource: mcpgo.NewResource(repoMapURI, "repo map",
			mcpgo.WithResourceDescription("The workspace's most important files and their symbols, ranked, as the agent sees it"),
			mcpgo.WithMIMEType("text/plain")),
		Handler: s.readRepoMap,
	}}
	tmpl := []server.ServerResourceTemplate{{
		Template: mcpgo.NewResourceTemplate(fileURITemplate, "workspace file",
			mcpgo.WithTemplateDescription("A file inside the workspace roots, by absolute path; nothing outside them is readable. Subscribe to hear of its changes")),
		Handler: s.readFile,
	}}
	if s.runs.KeepsThreads() {
		tmpl = append(tmpl, server.ServerResourceTemplate{
			Template: mcpgo.NewResourceTemplate(threadURITemplate, "thread",
				mcpgo.WithTemplateDescription("A recorded agent run of this workspace as Markdown, by thread ID or unique prefix"),
				mcpgo.WithTemplateMIMEType("text/markdown")),
			Handler: s.readThread,
		})
	}
	return res, tmpl
}

func (s *Server) readRepoMap(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	roots, err := s.requestRoots(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range roots {
		ws, err := workspace.New(r.given)
		if err != nil {
			return nil, err
		}
		m, err := codeindex.For(ws).RepoMap(ctx, ws.NewChangeset(), nil, tools.DefaultRepoMapTokens)
		if err != nil {
			return nil, fmt.Errorf("repo map of %s: %w", r.given, err)
		}
		if len(roots) > 1 {
			fmt.Fprintf(&b, "# %s\n", r.given)
		}
		b.WriteString(m)
	}
	return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: req.Params.URI, MIMEType: "text/plain", Text: b.String()}}, nil
}

// readFile reads a file:// resource through the workspace of the root
// holding it, which refuses paths and symlinks that lead outside.
func (s *Server) readFile(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	ws, rel, err := s.fileResource(ctx, req.Params.URI)
	if err != nil {
		return nil, err
	}
	data, err := ws.ReadFile(rel)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		return []mcpgo.ResourceContents{mcpgo.BlobResourceContents{URI: req.Params.URI,
			MIMEType: "application/octet-stream", Blob: base64.StdEncoding.EncodeToString(data)}}, nil
	}
	return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: req.Params.URI, MIMEType: mimeType(rel), Text: string(data)}}, nil
}

// fileResource finds the workspace and the confined path of a file://
// URI within the roots.
func (s *Server) fileResource(ctx context.Context, uri string) (*workspace.Workspace, string, error) {
	p, err := rootPath(uri)
	if err != nil {
		return nil, "", fmt.Errorf("resource %s: %w", uri, err)
	}
	roots, err := s.requestRoots(ctx)
	if err != nil {
		return nil, "", err
	}
	ws, err := workspace.New(pickRoot(roots, []string{p}))
	if err != nil {
		return nil, "", err
	}
	rel, err := ws.Resolve(p)
	if err != nil {
		return nil, "", fmt.Errorf("resource %s: %w", uri, err)
	}
	return ws, rel, nil
}

// readThread reads loom://threads/ID among the threads of the server's
// workspaces: another workspace's thread is unknown, as one that does not
// exist.
func (s *Server) readThread(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	id, err := url.PathUnescape(strings.TrimPrefix(req.Params.URI, threadURIPrefix))
	if err != nil || strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("resource %s: want %s", req.Params.URI, threadURITemplate)
	}
	roots, err := s.requestRoots(ctx)
	if err != nil {
		return nil, err
	}
	scope := make([]string, len(roots))
	for i, r := range roots {
		scope[i] = r.real
	}
	full, err := s.resolveThread(ctx, id, scope)
	if err != nil {
		return nil, errors.New(err.Error())
	}
	md, err := s.runs.ThreadMarkdown(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("reading thread %s: %w", full, err)
	}
	return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: req.Params.URI, MIMEType: "text/markdown", Text: md}}, nil
}

// mimeType guesses a text file's type from its name.
func mimeType(rel string) string {
	if t := mime.TypeByExtension(path.Ext(rel)); t != "" && strings.HasPrefix(t, "text/") {
		return t
	}
	if strings.HasSuffix(rel, ".go") {
		return "text/x-go"
	}
	return "text/plain"
}

// resourceFile is the file a subscribable URI names, as an absolute path
// below a root (symlinks resolved by the workspace), or an error saying why
// it cannot be subscribed to.
func (s *Server) resourceFile(ctx context.Context, uri string) (string, error) {
	if !strings.HasPrefix(uri, "file:") {
		return "", fmt.Errorf("resource %s: only file:// resources of the workspace can be subscribed to", uri)
	}
	ws, rel, err := s.fileResource(ctx, uri)
	if err != nil {
		return "", err
	}
	return filepath.Clean(ws.Abs(rel)), nil
}
