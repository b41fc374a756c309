package tools

import (
	"fmt"
	"strings"

	"github.com/loom-agent/loom/analysis"
)

// readSource reads a file for the analysis tools, refusing files in no
// supported language.
func readSource(env *Env, path string) (string, []byte, error) {
	rel, err := env.Workspace().Resolve(path)
	if err != nil {
		return "", nil, err
	}
	b, err := env.Changes.ReadFile(rel)
	if err != nil {
		return "", nil, err
	}
	if analysis.DetectLanguage(rel, b) == "" {
		return "", nil, fmt.Errorf("%s: not a supported language (supported: %s)", rel, strings.Join(analysis.Languages(), ", "))
	}
	return rel, b, nil
}
