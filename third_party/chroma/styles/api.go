package styles

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/alecthomas/chroma/v2"
)

//go:embed *.xml
var embedded embed.FS

// Registry of Styles.
//
// Loom's patch: the embedded styles (some 70 XML files to parse) are added
// by the first Get, Names or Register (loadEmbedded), not at every process
// start; a style registered before keeps its name, as it would have
// replaced the embedded one.
var Registry = map[string]*chroma.Style{}

var embeddedOnce sync.Once

// loadEmbedded adds the embedded styles to Registry (Loom's patch).
func loadEmbedded() {
	embeddedOnce.Do(func() {
		files, err := fs.ReadDir(embedded, ".")
		if err != nil {
			panic(err)
		}
		for _, file := range files {
			if file.IsDir() {
				continue
			}
			r, err := embedded.Open(file.Name())
			if err != nil {
				panic(err)
			}
			style, err := chroma.NewXMLStyle(r)
			if err != nil {
				panic(err)
			}
			if _, ok := Registry[strings.ToLower(style.Name)]; !ok {
				Registry[strings.ToLower(style.Name)] = style
			}
			_ = r.Close()
		}
		if Fallback == nil {
			Fallback = Registry["swapoff"]
		}
	})
}

// Fallback style. Reassign to change the default fallback style.
var Fallback *chroma.Style

// Register a chroma.Style.
func Register(style *chroma.Style) *chroma.Style {
	loadEmbedded()
	Registry[strings.ToLower(style.Name)] = style
	return style
}

// Names of all available styles.
func Names() []string {
	loadEmbedded()
	out := []string{}
	for name := range Registry {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Get named style, or Fallback.
func Get(name string) *chroma.Style {
	loadEmbedded()
	if style, ok := Registry[strings.ToLower(name)]; ok {
		return style
	}
	return Fallback
}
