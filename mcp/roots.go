package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/workspace"
)

// rootsInputID keys the roots request in a multi round-trip exchange.
const rootsInputID = "loom_roots"

// root is one workspace folder as named (by the flag or the client) and
// with its symlinks resolved; an absolute path in either form selects it.
type root struct{ given, real string }

// workspaceFor opens the workspace a call works in: the root containing the
// first absolute path among paths, else the first root. When the client has
// to be asked for its roots first (protocol 2026-07-28 and later), it
// returns instead the input-required result to answer the call with; the
// client retries with the roots.
func (s *Server) workspaceFor(ctx context.Context, req mcpgo.CallToolRequest, paths []string) (*workspace.Workspace, *mcpgo.CallToolResult, error) {
	roots, ask, err := s.currentRoots(ctx, req)
	if err != nil || ask != nil {
		return nil, ask, err
	}
	ws, err := workspace.New(pickRoot(roots, paths))
	return ws, nil, err
}

// currentRoots returns the client's roots when it declared the roots
// capability, else the configured ones. They are asked for on every call:
// a roots/list round trip is cheap next to any tool, and nothing goes stale.
func (s *Server) currentRoots(ctx context.Context, req mcpgo.CallToolRequest) ([]root, *mcpgo.CallToolResult, error) {
	if !clientHasRoots(ctx) {
		return s.configuredRoots(), nil, nil
	}
	if server.IsModernRequest(ctx) {
		// Server-initiated requests were replaced by multi round-trip
		// requests: answer "input required" and get the roots on the retry.
		list := server.RootsResponse(req.Params.InputResponses, rootsInputID)
		if list == nil {
			return nil, server.NewInputRequestBuilder("").Roots(rootsInputID).ToolResult(), nil
		}
		roots, err := s.rootsOrConfigured(list.Roots)
		return roots, nil, err
	}
	roots, err := s.askRoots(ctx)
	return roots, nil, err
}

// requestRoots is currentRoots for a request that is not a tool call
// (prompts, resources, completion), which cannot answer "input required":
// the client's roots when it declared them and the server may ask (before
// protocol 2026-07-28), else the configured ones.
func (s *Server) requestRoots(ctx context.Context) ([]root, error) {
	if !clientHasRoots(ctx) || server.IsModernRequest(ctx) {
		return s.configuredRoots(), nil
	}
	return s.askRoots(ctx)
}

func (s *Server) configuredRoots() []root {
	configured := make([]root, len(s.roots))
	for i, r := range s.roots {
		configured[i] = root{given: r, real: r}
	}
	return configured
}

// askRoots asks the client for its roots with roots/list.
func (s *Server) askRoots(ctx context.Context) ([]root, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RootsTimeout)
	defer cancel()
	list, err := s.mcp.RequestRoots(ctx, mcpgo.ListRootsRequest{Request: mcpgo.Request{Method: string(mcpgo.MethodListRoots)}})
	if err != nil {
		return nil, fmt.Errorf("asking the client for its roots (roots/list): %w", err)
	}
	return s.rootsOrConfigured(list.Roots)
}

// rootsOrConfigured is the client's roots, or the configured ones when it
// has none: a client with nothing open (an editor without a folder) leaves
// the folders Loom was started with.
func (s *Server) rootsOrConfigured(list []mcpgo.Root) ([]root, error) {
	if len(list) == 0 {
		return s.configuredRoots(), nil
	}
	return s.rootsFromList(list)
}

// clientHasRoots reports whether the client declared the roots capability,
// in this request's _meta (2026-07-28 and later) or at initialize.
func clientHasRoots(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Roots != nil
	}
	if ci, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return ci.GetClientCapabilities().Roots != nil
	}
	return false
}

// rootsFromList turns the client's file:// roots into folders. A root that
// is not a local folder is skipped with a warning; none usable is an error
// rather than a silent fall back to a folder the client did not offer.
func (s *Server) rootsFromList(list []mcpgo.Root) ([]root, error) {
	var out []root
	var refused []string
	for _, r := range list {
		dir, err := rootPath(r.URI)
		if err == nil {
			var ws *workspace.Workspace
			if ws, err = workspace.New(dir); err == nil {
				out = append(out, root{given: filepath.Clean(dir), real: ws.Root()})
				continue
			}
		}
		s.log.Warn("mcp: skipping a client root", "uri", r.URI, "err", err)
		refused = append(refused, fmt.Sprintf("%s (%v)", r.URI, err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("none of the client's roots is a local folder: %s", strings.Join(refused, "; "))
	}
	return out, nil
}

// rootPath returns the local folder of a file:// URI.
func rootPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("not a file:// URI")
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("names another host")
	}
	if !filepath.IsAbs(u.Path) {
		return "", errors.New("not an absolute path")
	}
	return u.Path, nil
}

// pickRoot returns the root containing the first absolute path that is
// inside any root, else the first root. Relative paths always mean the
// first root; a path outside every root is left to workspace.Resolve to
// refuse.
func pickRoot(roots []root, paths []string) string {
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		for _, r := range roots {
			if within(r.given, p) || within(r.real, p) {
				return r.given
			}
		}
	}
	return roots[0].given
}

// within reports whether path is dir or below it, by whole elements.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
