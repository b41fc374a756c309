package cmdutil

import (
	"fmt"
	"io"

	"github.com/loom-agent/loom/llm"
)

// WarnUnknownConfigKeys prints one line on w for each key of the config
// file at path that Loom does not read, naming the key it likely meant:
// a typo such as "baseurl" must not send runs elsewhere in silence. A file
// that cannot be read is left to the command that reads it to report.
func WarnUnknownConfigKeys(w io.Writer, path string) {
	keys, err := llm.UnknownConfigKeys(path)
	if err != nil {
		return
	}
	for _, k := range keys {
		fmt.Fprintf(w, "loom: warning: config file %s: %s\n", path, k)
	}
}
