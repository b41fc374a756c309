package serve

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/thread"
)

// TestNewCmdMCPFlags: the command line becomes MCPOptions, and the flags
// that only HTTP takes are named when given, so that stdio can refuse them.
func TestNewCmdMCPFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	for _, tt := range []struct {
		args      []string
		roots     []string
		http      string
		httpFlags []string
		sampling  bool
	}{
		{args: nil, roots: []string{"."}},
		{args: []string{"--root", "a", "--root", "b", "--http", ":0", "--no-auth"}, roots: []string{"a", "b"}, http: ":0", httpFlags: []string{"no-auth"}},
		{args: []string{"--token", "", "--allow-origin", "https://x"}, roots: []string{"."}, httpFlags: []string{"token", "allow-origin"}},
		{args: []string{"--sampling"}, roots: []string{"."}, sampling: true},
	} {
		var got *MCPOptions
		cmd := NewCmdMCP(f.Factory, func(o *MCPOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Roots, tt.roots) || got.HTTP != tt.http || !reflect.DeepEqual(got.HTTPFlags, tt.httpFlags) ||
			got.Version != "test" || got.Sampling != tt.sampling {
			t.Errorf("%v: roots %v, http %q, HTTP flags %v, version %q", tt.args, got.Roots, got.HTTP, got.HTTPFlags, got.Version)
		}
	}
}

// TestMCPRefusesBeforeServing: a command line that cannot be served is a
// usage error, found before the thread database is opened.
func TestMCPRefusesBeforeServing(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts MCPOptions
		want string
	}{
		{"token over stdio", MCPOptions{HTTPFlags: []string{"token"}}, "--token applies to --http only"},
		{"origin over stdio", MCPOptions{HTTPFlags: []string{"allow-origin"}}, "--allow-origin applies to --http only"},
		{"no auth off loopback", MCPOptions{HTTP: "0.0.0.0:0", NoAuth: true}, "loopback"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := cmdtest.New(t, "")
			opened := false
			opts := tt.opts
			opts.IO, opts.Agent, opts.ModelName = f.IOStreams, f.Agent, f.ModelName
			opts.OpenStore = func(db string, mode cmdutil.StoreMode) (*thread.Store, error) {
				opened = true
				return f.OpenStore(db, mode)
			}
			err := mcpRun(context.Background(), &opts)
			if !errors.As(err, new(*cmdutil.UsageError)) || !strings.Contains(err.Error(), tt.want) || opened {
				t.Errorf("mcpRun = %v (database opened: %v), want a usage error %q", err, opened, tt.want)
			}
		})
	}
}

// TestNewCmdServeFlags: lsp and acp take the agent flags and their own.
func TestNewCmdServeFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	var lsp *LSPOptions
	cmd := NewCmdLSP(f.Factory, func(o *LSPOptions) error { lsp = o; return nil })
	cmd.SetArgs([]string{"--db", "t.db", "--allow-shell", "--model", "m"})
	if err := cmd.Execute(); err != nil || lsp.DB != "t.db" || !lsp.AgentFlags.AllowShell || lsp.AgentFlags.Model != "m" {
		t.Errorf("lsp: %v, %+v", err, lsp)
	}
	var acp *ACPOptions
	cmd = NewCmdACP(f.Factory, func(o *ACPOptions) error { acp = o; return nil })
	cmd.SetArgs([]string{"--models", "a,b", "--provider", "anthropic"})
	if err := cmd.Execute(); err != nil || !reflect.DeepEqual(acp.Models, []string{"a", "b"}) || acp.AgentFlags.Provider != "anthropic" {
		t.Errorf("acp: %v, %+v", err, acp)
	}
}
