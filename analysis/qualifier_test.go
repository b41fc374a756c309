package analysis

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestPackageQualifiers: in Go, the name of an imported package qualifying
// a selector or a type is a package use, not a reference to something of
// that name; a variable qualifying a selector stays a reference.
func TestPackageQualifiers(t *testing.T) {
	src := []byte(`package p

import (
	"fmt"
	str "strings"
	"math/rand/v2"
	"gopkg.in/yaml.v3"
	_ "embed"
)

type T struct{ b str.Builder }

func F(s T) {
	fmt.Println(str.ToUpper("x"), rand.IntN(3))
	_ = yaml.Marshal
	s.b.Reset()
	strings := 1
	_ = strings
}
`)
	refs, err := FindReferences(context.Background(), "p.go", src, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range refs {
		got[r.Name] = append(got[r.Name], r.Kind.String())
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"fmt", []string{"package"}},
		{"str", []string{"package", "package", "package"}}, // the import's name, str.Builder, str.ToUpper
		{"rand", []string{"package"}},
		{"yaml", []string{"package"}},
		{"s", []string{"reference", "reference"}},       // the parameter and s.b
		{"strings", []string{"reference", "reference"}}, // a variable: "strings" is imported as str
		{"Println", []string{"call"}},
		{"IntN", []string{"call"}},
	} {
		if !slices.Equal(got[tc.name], tc.want) {
			t.Errorf("%s: kinds %v, want %v (all: %v)", tc.name, got[tc.name], tc.want, fmt.Sprint(got))
		}
	}
}

func TestPackageName(t *testing.T) {
	for path, want := range map[string]string{
		`"fmt"`: "fmt", `"net/http"`: "http", `"math/rand/v2"`: "rand", `"gopkg.in/yaml.v3"`: "yaml",
		`"github.com/smacker/go-tree-sitter"`: "tree-sitter", `"github.com/x/client-go"`: "client",
		"`os`": "os", `"v2"`: "v2",
	} {
		if got := packageName(path); got != want {
			t.Errorf("packageName(%s) = %q, want %q", path, got, want)
		}
	}
}
