package tools

// Builtin returns Loom's own tools: the file tools, the code analysis
// tools and the shell (which runs only with Env.Approver's consent).
func Builtin() []Tool {
	return []Tool{
		ReadFile{}, ListDir{}, Glob{}, Grep{},
		Outline{}, FindSymbol{}, FindReferences{}, RepoMapTool{}, SyntaxCheck{},
		WriteFile{}, EditFile{}, ApplyPatch{}, MoveFile{}, DeleteFile{},
		Shell{},
	}
}

// NewBuiltinRegistry returns a registry of the built-in tools.
func NewBuiltinRegistry() (*Registry, error) { return NewRegistry(Builtin()...) }
