package resolve

import (
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// goModule is a go.mod: the module's path and folder, and where its
// requirements and replacements lead.
type goModule struct {
	dir  string
	path string
	file *modfile.File
}

// moduleOf returns the module whose go.mod is nearest above dir, or nil.
func (r *Resolver) moduleOf(dir string) *goModule {
	var walked []string
	var found *goModule
	for d := dir; ; {
		if m, ok := r.mods[d]; ok {
			found = m
			break
		}
		walked = append(walked, d)
		if b, err := r.fs.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if mf, err := modfile.ParseLax(filepath.Join(d, "go.mod"), b, nil); err == nil && mf.Module != nil {
				found = &goModule{dir: d, path: mf.Module.Mod.Path, file: mf}
			}
			break
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	for _, d := range walked {
		r.mods[d] = found
	}
	return found
}

// setMain names the module of the file asked about: its requirements (the
// versions the build selects) serve imports of its dependencies too.
func (r *Resolver) setMain(dir string) {
	if r.main == nil {
		r.main = r.moduleOf(dir)
	}
}

// importDir returns the folder of the package an import path names, seen
// from a file in dir, or "" when it is nowhere Loom looks.
func (r *Resolver) importDir(dir, importPath string) string {
	if module.CheckImportPath(importPath) != nil {
		return ""
	}
	own := r.moduleOf(dir)
	if d := own.within(importPath); d != "" {
		return d
	}
	first, _, _ := strings.Cut(importPath, "/")
	if r.goroot != "" && !strings.Contains(first, ".") {
		return filepath.Join(r.goroot, "src", filepath.FromSlash(importPath))
	}
	if own != nil && own.path == "std" && r.goroot != "" {
		return filepath.Join(r.goroot, "src", "vendor", filepath.FromSlash(importPath))
	}
	for _, m := range []*goModule{r.main, own} {
		if d := r.required(m, importPath); d != "" {
			return d
		}
	}
	return ""
}

// within returns the folder of importPath when module m holds it.
func (m *goModule) within(importPath string) string {
	if m == nil {
		return ""
	}
	if importPath == m.path {
		return m.dir
	}
	if rest, ok := strings.CutPrefix(importPath, m.path+"/"); ok {
		return filepath.Join(m.dir, filepath.FromSlash(rest))
	}
	return ""
}

// required finds importPath among m's replacements and requirements (the
// longest module path wins) and returns its folder.
func (r *Resolver) required(m *goModule, importPath string) string {
	if m == nil || m.file == nil {
		return ""
	}
	best, rest := module.Version{}, ""
	match := func(modPath string) (string, bool) {
		if importPath == modPath {
			return "", true
		}
		s, ok := strings.CutPrefix(importPath, modPath+"/")
		return s, ok
	}
	for _, req := range m.file.Require {
		if s, ok := match(req.Mod.Path); ok && len(req.Mod.Path) > len(best.Path) {
			best, rest = req.Mod, s
		}
	}
	for _, rep := range m.file.Replace {
		s, ok := match(rep.Old.Path)
		if !ok || len(rep.Old.Path) < len(best.Path) || rep.Old.Version != "" && rep.Old.Version != best.Version {
			continue
		}
		if rep.New.Version == "" {
			// A folder: relative to the go.mod that says so.
			d := rep.New.Path
			if !filepath.IsAbs(d) {
				d = filepath.Join(m.dir, filepath.FromSlash(d))
			}
			return filepath.Join(d, filepath.FromSlash(s))
		}
		best, rest = rep.New, s
	}
	if best.Path == "" || r.modcache == "" || module.Check(best.Path, best.Version) != nil {
		return ""
	}
	ep, err1 := module.EscapePath(best.Path)
	ev, err2 := module.EscapeVersion(best.Version)
	if err1 != nil || err2 != nil {
		return ""
	}
	return filepath.Join(r.modcache, filepath.FromSlash(ep)+"@"+ev, filepath.FromSlash(rest))
}
