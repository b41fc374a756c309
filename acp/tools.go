package acp

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/loom-agent/loom/tools"
)

// registry is the session's tool set for its client, by each tool's spec:
// tools that stage edits ask and write through the client, read-only tools
// that name paths read those files through it first, and tools that
// execute run in the client's terminal when they are one command line and
// it has one, else as Loom's own when the server allows it; otherwise they
// are refused. The approver asks the user through
// session/request_permission before a call that executes runs; it is nil
// when no tool that executes may run, and the agent then offers none.
func (sess *session) registry() (*tools.Registry, tools.Approver, error) {
	opts, caps := sess.srv.opts, sess.srv.clientCaps()
	ask := permissions{sess: sess, runnable: map[string]bool{}}
	var ts []tools.Tool
	for _, t := range sess.tools.List() {
		sp := t.Spec()
		cmd, isCommand := t.(tools.Commander)
		switch {
		case sp.Effect == tools.EffectExecute && isCommand && caps.Terminal:
			t, ask.runnable[sp.Name] = terminalShell{t, cmd, sess}, true
		case sp.Effect == tools.EffectExecute && opts.AllowShell:
			ask.runnable[sp.Name] = true
		case sp.Effect == tools.EffectExecute:
			// Not offered unless another one is; refused if called, since
			// running it would ask no one.
			t = refused{t}
		case sp.Effect.Stages():
			t = editGate{t, sess, ask}
		case namesPaths(t):
			t = readGate{t, sess}
		}
		ts = append(ts, t)
	}
	reg, err := tools.NewRegistry(ts...)
	if len(ask.runnable) == 0 {
		return reg, nil, err
	}
	return reg, ask, err
}

// refused is a tool that executes commands which neither the client's
// terminal nor the server may run.
type refused struct{ tools.Tool }

func (r refused) Run(context.Context, *tools.Env, json.RawMessage) (tools.Result, error) {
	return tools.Result{}, disabled(r.Spec().Name)
}

func disabled(name string) error {
	return fmt.Errorf("the %s tool is disabled: it runs commands directly on this machine, "+
		"outside the changeset; start Loom with --allow-shell to enable it", name)
}

// namesPaths reports whether a tool's calls may name workspace paths.
func namesPaths(t tools.Tool) bool {
	_, inContent := t.(tools.PathNamer)
	return len(t.Spec().PathArgs) > 0 || inContent
}
