package acp

import (
	"fmt"
	"strconv"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/mcpclient"
	"github.com/loom-agent/loom/tools"
)

// sessionServers turns the MCP servers a client gives in session/new or
// session/load into the session's own set (nil for none): stdio and
// streamable HTTP entries, named as mcpclient allows, started at the first
// prompt, ended with the session. SSE and ACP-transport servers are
// refused: Loom does not advertise them.
func (s *Server) sessionServers(cwd string, list []sdk.McpServer) (*mcpclient.Set, error) {
	if len(list) == 0 {
		return nil, nil
	}
	f := mcpclient.File{Servers: map[string]mcpclient.ServerConfig{}}
	name := func(given string) string {
		base := mcpclient.ServerName(given)
		n := base
		for i := 2; f.Servers[n].Command != "" || f.Servers[n].URL != ""; i++ {
			suffix := "_" + strconv.Itoa(i)
			n = base[:min(len(base), 64-len(suffix))] + suffix
		}
		return n
	}
	for i, m := range list {
		switch {
		case m.Stdio != nil:
			env := map[string]string{}
			for _, e := range m.Stdio.Env {
				env[e.Name] = e.Value
			}
			f.Servers[name(m.Stdio.Name)] = mcpclient.ServerConfig{Type: mcpclient.Stdio,
				Command: m.Stdio.Command, Args: m.Stdio.Args, Env: env}
		case m.Http != nil:
			headers := map[string]string{}
			for _, h := range m.Http.Headers {
				headers[h.Name] = h.Value
			}
			f.Servers[name(m.Http.Name)] = mcpclient.ServerConfig{Type: mcpclient.HTTP, URL: m.Http.Url, Headers: headers}
		case m.Sse != nil:
			return nil, invalidServer(i, fmt.Errorf("%q: the SSE transport is not supported (mcpCapabilities.sse is false); give the server's streamable HTTP endpoint", m.Sse.Name))
		default:
			return nil, invalidServer(i, fmt.Errorf("a transport Loom does not support (stdio and http are)"))
		}
	}
	set, err := mcpclient.NewSet(f, mcpclient.ScopeSession, cwd, s.log)
	if err != nil {
		return nil, invalidServer(-1, err)
	}
	return set, nil
}

func invalidServer(i int, err error) error {
	where := "mcpServers"
	if i >= 0 {
		where = fmt.Sprintf("mcpServers[%d]", i)
	}
	return sdk.NewInvalidParams(map[string]any{"error": where + ": " + err.Error()})
}

// toolSource offers a registry's tools, sources included, as a source.
type toolSource struct{ reg *tools.Registry }

func (t toolSource) Tools() []tools.Tool { return t.reg.List() }

// sessionTools is the registry a session's calls are described from:
// the server's tools, then the session's servers' (a name the server's
// tools already have stays theirs).
func sessionTools(base *tools.Registry, set *mcpclient.Set) (*tools.Registry, error) {
	if set == nil {
		return base, nil
	}
	reg, err := tools.NewRegistry()
	if err != nil {
		return nil, err
	}
	reg.AddSource(toolSource{base})
	reg.AddSource(set)
	return reg, nil
}
