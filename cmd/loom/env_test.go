package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPrivateEnv: the check loomCommand applies refuses every
// environment in which the binary could open the user's own threads,
// config or tokens, and accepts privateEnv's.
func TestCheckPrivateEnv(t *testing.T) {
	path := "PATH=" + os.Getenv("PATH")
	realHome := "/root"
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		realHome = u.HomeDir
	}
	private := t.TempDir()
	tests := []struct {
		name    string
		env     []string
		wantErr string // "" for accepted
	}{
		{"PATH alone: home from the user database", []string{path}, "HOME"},
		{"the user's HOME", []string{path, "HOME=" + realHome}, "HOME"},
		{"relative HOME", []string{path, "HOME=home"}, "HOME"},
		{"the temporary directory itself", []string{path, "HOME=" + os.TempDir()}, "HOME"},
		{"a private HOME overridden later", []string{path, "HOME=" + private, "HOME=" + realHome}, "HOME"},
		{"the user's data folder", []string{path, "HOME=" + private, "XDG_DATA_HOME=" + filepath.Join(realHome, ".local", "share")}, "XDG_DATA_HOME"},
		{"the user's runtime folder", []string{path, "HOME=" + private, "XDG_RUNTIME_DIR=/run/user/0"}, "XDG_RUNTIME_DIR"},
		{"the user's database", []string{path, "HOME=" + private, "LOOM_DB=" + filepath.Join(realHome, "threads.db")}, "LOOM_DB"},
		{"a relative database", []string{path, "HOME=" + private, "LOOM_DB=threads.db"}, "LOOM_DB"},
		{"a private HOME alone", []string{path, "HOME=" + private}, ""},
		{"relative XDG values, ignored by the binary", []string{path, "HOME=" + private, "XDG_DATA_HOME=data"}, ""},
		{"privateEnv", privateEnv(t), ""},
		{"privateEnv with a database of the test", privateEnv(t, "LOOM_DB="+filepath.Join(private, "threads.db")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrivateEnv(tt.env)
			if tt.wantErr == "" && err != nil {
				t.Errorf("refused: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

// TestBinaryStartedThroughLoomCommand: no test of this package starts the
// binary any other way than loomCommandContext, so checkPrivateEnv sees
// every child's environment.
func TestBinaryStartedThroughLoomCommand(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("test files: %v, %v", files, err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok && fn.Name.Name == "loomCommandContext" {
				continue
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Command" && sel.Sel.Name != "CommandContext") {
					return true
				}
				prog := 0 // the program's position among the arguments
				if sel.Sel.Name == "CommandContext" {
					prog = 1
				}
				if len(call.Args) > prog {
					if id, ok := call.Args[prog].(*ast.Ident); ok && id.Name == "loomBin" {
						t.Errorf("%s: starts loomBin directly; use loomCommand", fset.Position(call.Pos()))
					}
				}
				return true
			})
		}
	}
}
