package main

import (
	"cmp"
	"go/ast"
	"go/types"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"golang.org/x/tools/go/packages"

	"github.com/loom-agent/loom/workspace"
)

// sample loads the module's packages with types and draws n identifier
// uses, each with the category of what it names.
func sampleGo(root string, n int, seed uint64) ([]use, error) {
	cfg := &packages.Config{Dir: root, Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
		packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo, Tests: false}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, err
	}
	var all []use
	texts := map[string]*workspace.Lines{}
	for _, p := range pkgs {
		if p.TypesInfo == nil {
			continue
		}
		for _, file := range p.Syntax {
			path := p.Fset.File(file.Pos()).Name()
			if !strings.HasPrefix(path, root+string(filepath.Separator)) || !strings.HasSuffix(path, ".go") {
				continue // cgo's generated files
			}
			params := map[types.Object]bool{}
			ast.Inspect(file, func(node ast.Node) bool {
				var lists []*ast.FieldList
				switch f := node.(type) {
				case *ast.FuncDecl:
					lists = []*ast.FieldList{f.Recv, f.Type.TypeParams, f.Type.Params, f.Type.Results}
				case *ast.FuncLit:
					lists = []*ast.FieldList{f.Type.Params, f.Type.Results}
				case *ast.TypeSpec:
					lists = []*ast.FieldList{f.TypeParams}
				}
				for _, l := range lists {
					if l == nil {
						continue
					}
					for _, fld := range l.List {
						for _, nm := range fld.Names {
							if o := p.TypesInfo.Defs[nm]; o != nil {
								params[o] = true
							}
						}
					}
				}
				return true
			})
			ast.Inspect(file, func(node ast.Node) bool {
				id, ok := node.(*ast.Ident)
				if !ok || id.Name == "_" {
					return true
				}
				obj := p.TypesInfo.Uses[id]
				if obj == nil {
					return true
				}
				c := category(obj, p.Types, params)
				if c == "" {
					return true
				}
				lines := texts[path]
				if lines == nil {
					b, err := os.ReadFile(path)
					if err != nil {
						return true
					}
					lines = workspace.NewLines(string(b))
					texts[path] = lines
				}
				pos, err := lines.Position(p.Fset.Position(id.Pos()).Offset, workspace.UTF16)
				if err != nil {
					return true
				}
				all = append(all, use{path: path, name: id.Name, category: c,
					pos: protocol.Position{Line: uint32(pos.Line), Character: uint32(pos.Character)}})
				return true
			})
		}
	}
	return draw(all, n, seed), nil
}

// draw sorts the uses, drops repeats and takes n of them in an order
// fixed by seed.
func draw(all []use, n int, seed uint64) []use {
	slices.SortFunc(all, func(a, b use) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Character, b.pos.Character))
	})
	all = slices.CompactFunc(all, func(a, b use) bool { return a.path == b.path && a.pos == b.pos })
	rng := rand.New(rand.NewPCG(seed, seed))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))]
}

// category says what kind of name a use names.
func category(obj types.Object, pkg *types.Package, params map[types.Object]bool) string {
	if obj.Pkg() == nil {
		return "builtin"
	}
	own := obj.Pkg() == pkg
	packageLevel := obj.Parent() != nil && obj.Parent() == obj.Pkg().Scope()
	switch o := obj.(type) {
	case *types.PkgName, *types.Label:
		return ""
	case *types.Var:
		if o.IsField() {
			if own {
				return "field"
			}
			return "member of external type"
		}
	case *types.Func:
		if sig, ok := o.Type().(*types.Signature); ok && sig.Recv() != nil {
			if own {
				return "method"
			}
			return "member of external type"
		}
	}
	switch {
	case params[obj]:
		return "parameter"
	case packageLevel && own:
		return "package-level"
	case packageLevel:
		return "imported member"
	case own:
		if _, ok := obj.(*types.TypeName); ok && isTypeParam(obj) {
			return "parameter"
		}
		return "local"
	}
	return ""
}

func isTypeParam(obj types.Object) bool {
	_, ok := obj.Type().(*types.TypeParam)
	return ok
}
