package analysis

// Kind classifies a definition. The names follow tags-query captures
// ("@definition.struct" has Kind "struct") so the LSP adapter can map them.
type Kind string

const (
	KindFunction    Kind = "function"
	KindMethod      Kind = "method"
	KindConstructor Kind = "constructor"
	KindClass       Kind = "class"
	KindStruct      Kind = "struct"
	KindInterface   Kind = "interface"
	KindEnum        Kind = "enum"
	KindEnumMember  Kind = "enummember"
	KindType        Kind = "type"
	KindField       Kind = "field"
	KindConstant    Kind = "constant"
	KindVariable    Kind = "variable"
	KindModule      Kind = "module"
	KindNamespace   Kind = "namespace"
	KindImpl        Kind = "impl"
	KindMacro       Kind = "macro"
)

var knownKinds = map[Kind]bool{
	KindFunction: true, KindMethod: true, KindConstructor: true, KindClass: true,
	KindStruct: true, KindInterface: true, KindEnum: true, KindEnumMember: true,
	KindType: true, KindField: true, KindConstant: true, KindVariable: true,
	KindModule: true, KindNamespace: true, KindImpl: true, KindMacro: true,
}

// isCallable kinds own local scopes: variables declared inside them are not
// part of an outline.
func (k Kind) isCallable() bool {
	return k == KindFunction || k == KindMethod || k == KindConstructor
}

// isContainer kinds turn nested functions into methods.
func (k Kind) isContainer() bool {
	switch k {
	case KindClass, KindStruct, KindInterface, KindImpl, KindEnum:
		return true
	}
	return false
}

// isLocalOnly kinds are dropped when declared inside a callable.
func (k Kind) isLocalOnly() bool {
	return k == KindVariable || k == KindConstant || k == KindField
}

// Position is a location in a file: 0-based line, 0-based byte column within
// that line, and byte offset from the start of the file.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Offset int `json:"offset"`
}

// Range is a half-open span [Start, End).
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Symbol is one definition in a file.
type Symbol struct {
	Name      string `json:"name"`
	Kind      Kind   `json:"kind"`
	Range     Range  `json:"range"`      // the whole definition
	NameRange Range  `json:"name_range"` // just the name
	Signature string `json:"signature"`  // the line holding the name, trimmed
	// Parent indexes the enclosing definition in the same slice, -1 at top level.
	Parent int `json:"parent"`
}

// OutlineItem is a Symbol with its nested definitions, the shape of LSP's
// DocumentSymbol.
type OutlineItem struct {
	Symbol
	Children []OutlineItem `json:"children,omitempty"`
}

// RefKind tells a call, and an imported package's name qualifying a
// selector (fmt in fmt.Println), from any other use of a name.
type RefKind uint8

const (
	RefReference RefKind = iota
	RefCall
	RefPackage
)

func (k RefKind) String() string {
	switch k {
	case RefCall:
		return "call"
	case RefPackage:
		return "package"
	}
	return "reference"
}

// Reference is one syntactic occurrence of an identifier (never inside a
// comment or string literal, since those hold no identifier nodes).
type Reference struct {
	Path  string  `json:"path,omitempty"`
	Name  string  `json:"name"`
	Kind  RefKind `json:"kind"`
	Range Range   `json:"range"`
}

// nest turns a flat symbol slice (Parent indices) into a tree.
func nest(syms []Symbol) []OutlineItem {
	children := make([][]int, len(syms))
	var roots []int
	for i, s := range syms {
		if s.Parent >= 0 && s.Parent < len(syms) && s.Parent != i {
			children[s.Parent] = append(children[s.Parent], i)
		} else {
			roots = append(roots, i)
		}
	}
	var build func(ids []int) []OutlineItem
	build = func(ids []int) []OutlineItem {
		if len(ids) == 0 {
			return nil
		}
		out := make([]OutlineItem, len(ids))
		for j, i := range ids {
			out[j] = OutlineItem{Symbol: syms[i], Children: build(children[i])}
		}
		return out
	}
	return build(roots)
}
