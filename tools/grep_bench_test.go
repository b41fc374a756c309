package tools

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

// BenchmarkGrepGoroot searches the Go source tree for 'func ', the search
// bench/grep.sh compares with ripgrep.
func BenchmarkGrepGoroot(b *testing.B) {
	src := filepath.Join(goroot(), "src")
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		b.Skip("GOROOT/src is not available")
	}
	ws, err := workspace.New(src)
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{Changes: ws.NewChangeset()}
	args := json.RawMessage(`{"pattern":"func ","max_results":1000000}`)
	total := 0
	for b.Loop() {
		res, err := Grep{}.Run(context.Background(), env, args)
		if err != nil {
			b.Fatal(err)
		}
		total = res.Data.(GrepData).Total
	}
	if total == 0 {
		b.Fatal("no matches in GOROOT/src")
	}
	b.ReportMetric(float64(total), "matches")
}

// goroot asks the go command, as `make bench` does; runtime.GOROOT is
// deprecated.
func goroot() string {
	if g := os.Getenv("GOROOT"); g != "" {
		return g
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
