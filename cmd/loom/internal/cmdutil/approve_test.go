package cmdutil

import (
	"context"
	"errors"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
)

// TestApproverWithoutTerminal: off a terminal, --shell and --allow-shell
// choose never (the default), always, or a usage error; nothing asks.
func TestApproverWithoutTerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	// Buffers that claim to be terminals are still nothing to ask on.
	ios.SetStdinTTY(true)
	ios.SetStderrTTY(true)
	for _, tt := range []struct {
		flags  AgentFlags
		always bool
		usage  bool
	}{
		{flags: AgentFlags{}},
		{flags: AgentFlags{Shell: ShellNever}},
		{flags: AgentFlags{Shell: ShellAlways}, always: true},
		{flags: AgentFlags{AllowShell: true}, always: true},
		{flags: AgentFlags{AllowShell: true, Shell: ShellAlways}, always: true},
		{flags: AgentFlags{AllowShell: true, Shell: ShellNever}, usage: true},
		{flags: AgentFlags{Shell: ShellAsk}, usage: true},
		{flags: AgentFlags{Shell: "sometimes"}, usage: true},
	} {
		a, err := Approver(ios, tt.flags)
		switch {
		case tt.usage && !errors.As(err, new(*UsageError)):
			t.Errorf("%+v: %v, want a usage error", tt.flags, err)
		case !tt.usage && err != nil:
			t.Errorf("%+v: %v", tt.flags, err)
		case tt.always && a == nil, !tt.always && a != nil:
			t.Errorf("%+v: approver %v, want always = %v", tt.flags, a, tt.always)
		case a != nil:
			if _, ok := a.(*terminalApprover); ok {
				t.Errorf("%+v: a terminal prompt on buffers", tt.flags)
			}
			if d, err := a.Approve(context.Background(), tools.Approval{}); d != tools.Allow || err != nil {
				t.Errorf("%+v: the approver answers %v, %v; want allow", tt.flags, d, err)
			}
		}
	}
}
