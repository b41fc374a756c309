package analysis

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	sitter "github.com/smacker/go-tree-sitter"
)

// The tags queries use a subset of tree-sitter's query syntax: node patterns
// "(type field: (child) ...)", alternations "[...]", captures, the anchor
// "." before a child (here: the first child the walker records, which is
// the first named child whenever the others are of types no pattern names)
// and the predicate (#match? @_c "regexp") on a private capture (@_ prefix)
// of the same pattern. Wildcards, anonymous-token strings, quantifiers and
// other predicates are rejected, because every node a pattern names must
// be one the C walker records.

type capRole uint8

const (
	capName capRole = iota + 1
	capDefinition
	capCall
	capReference
	capImport  // a package a file imports: its path or its local name
	capPrivate // @_name: only for a predicate to refer to
)

type qcap struct {
	role capRole
	kind Kind   // for capDefinition; for capImport, importName or importPath
	name string // for capPrivate
}

// The two captures of an import: the local name it is given, or the
// package path (whose last element is the name when none is given).
const (
	importName Kind = "import.name"
	importPath Kind = "import.path"
)

type qpat struct {
	typeName string
	syms     []uint16 // symbol ids with typeName; nil for an alternation
	alts     []*qpat
	kids     []qkid
	caps     []qcap
	preds    []qpred        // predicates written in this pattern
	text     *regexp.Regexp // the node's text must match (from a predicate)
}

type qkid struct {
	fieldName string
	field     uint16 // 0: any direct child
	first     bool   // anchored: only the first recorded child
	pat       *qpat
}

// qpred is (#match? @_capture "regexp").
type qpred struct {
	capture string
	re      *regexp.Regexp
}

type patRole uint8

const (
	roleDefinition patRole = iota + 1
	roleCall
	roleReference
	roleImport
)

type rootPat struct {
	pat  *qpat
	role patRole
}

// compiledLang is a language ready for walking: which symbols to record and
// which patterns start at each symbol.
type compiledLang struct {
	name        string
	grammar     *sitter.Language
	want        []uint8 // every symbol any pattern names
	outlineWant []uint8 // only symbols of definition patterns
	roots       [][]rootPat
	refSym      []bool
	skip        []uint8 // node types holding no outline entries
	qualifier   []bool  // by field id: see languageSpec.qualifierFields
	nameTrim    string  // see languageSpec.nameTrim
	// prepare, when set, is what the parser reads instead of a source of
	// the same length (see languageSpec.blankExportMacros).
	prepare func([]byte) []byte
}

var (
	compiledMu    sync.Mutex
	compiledCache = map[string]*compiledLang{}
)

// compiled returns the language's compiled table, building it once.
func compiled(name string) (*compiledLang, error) {
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if cl, ok := compiledCache[name]; ok {
		return cl, nil
	}
	for i := range languageTable {
		if languageTable[i].name == name {
			cl, err := compileLanguage(&languageTable[i])
			if err != nil {
				return nil, err
			}
			compiledCache[name] = cl
			return cl, nil
		}
	}
	return nil, fmt.Errorf("analysis: unsupported language %q", name)
}

func compileLanguage(spec *languageSpec) (*compiledLang, error) {
	g := spec.grammar()
	n := int(g.SymbolCount())
	symbols := map[string][]uint16{}
	for i := 0; i < n; i++ {
		s := sitter.Symbol(i)
		if g.SymbolType(s) != sitter.SymbolTypeRegular {
			continue
		}
		name := g.SymbolName(s)
		symbols[name] = append(symbols[name], uint16(i))
	}
	fields := map[string]uint16{}
	for i := 1; i <= fieldCount(g); i++ {
		fields[g.FieldName(i)] = uint16(i)
	}
	pats, err := parseTagsQuery(spec.tags)
	if err != nil {
		return nil, fmt.Errorf("analysis: %s tags query: %w", spec.name, err)
	}
	cl := &compiledLang{
		name:        spec.name,
		grammar:     g,
		want:        make([]uint8, n),
		outlineWant: make([]uint8, n),
		roots:       make([][]rootPat, n),
		refSym:      make([]bool, n),
		skip:        make([]uint8, n),
		nameTrim:    spec.nameTrim,
	}
	if spec.blankExportMacros {
		cl.prepare = blankExportMacros
	}
	cl.qualifier = make([]bool, len(fields)+1)
	for _, name := range spec.qualifierFields {
		id, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("analysis: %s qualifier field: unknown field %q", spec.name, name)
		}
		cl.qualifier[id] = true
	}
	for _, typ := range spec.outlineSkip {
		ids, ok := symbols[typ]
		if !ok {
			return nil, fmt.Errorf("analysis: %s outline skip: unknown node type %q", spec.name, typ)
		}
		for _, id := range ids {
			cl.skip[id] = 1
		}
	}
	for _, p := range pats {
		if err := resolve(p, symbols, fields); err != nil {
			return nil, fmt.Errorf("analysis: %s tags query: %w", spec.name, err)
		}
		role, err := classify(p)
		if err != nil {
			return nil, fmt.Errorf("analysis: %s tags query: %w", spec.name, err)
		}
		markSymbols(p, cl.want, true)
		if role == roleDefinition {
			markSymbols(p, cl.outlineWant, true)
		}
		for _, s := range rootSymbols(p) {
			if role == roleReference {
				cl.refSym[s] = true
				continue
			}
			cl.roots[s] = append(cl.roots[s], rootPat{pat: p, role: role})
		}
	}
	return cl, nil
}

func resolve(p *qpat, symbols map[string][]uint16, fields map[string]uint16) error {
	if p.alts != nil {
		for _, a := range p.alts {
			if err := resolve(a, symbols, fields); err != nil {
				return err
			}
		}
		return nil
	}
	ids, ok := symbols[p.typeName]
	if !ok {
		return fmt.Errorf("unknown node type %q", p.typeName)
	}
	p.syms = ids
	for i := range p.kids {
		k := &p.kids[i]
		if k.fieldName != "" {
			id, ok := fields[k.fieldName]
			if !ok {
				return fmt.Errorf("unknown field %q", k.fieldName)
			}
			k.field = id
		}
		if err := resolve(k.pat, symbols, fields); err != nil {
			return err
		}
	}
	return nil
}

func classify(p *qpat) (patRole, error) {
	counts := map[capRole]int{}
	var walk func(q *qpat, depth int)
	walk = func(q *qpat, depth int) {
		for _, c := range q.caps {
			if c.role == capPrivate {
				continue
			}
			counts[c.role]++
			if c.role == capReference && depth > 0 {
				counts[0]++ // misplaced @reference
			}
		}
		for _, a := range q.alts {
			walk(a, depth)
		}
		for _, k := range q.kids {
			walk(k.pat, depth+1)
		}
	}
	walk(p, 0)
	others := func(roles ...capRole) int {
		n := 0
		for r, c := range counts {
			if r != 0 && !slices.Contains(roles, r) {
				n += c
			}
		}
		return n
	}
	switch {
	case counts[0] > 0:
		return 0, fmt.Errorf("@reference must capture a whole root pattern such as (identifier) @reference")
	case counts[capDefinition] > 0 && counts[capName] > 0 && counts[capCall]+counts[capReference] == 0:
		return roleDefinition, nil
	case counts[capCall] > 0 && counts[capDefinition]+counts[capName]+counts[capReference] == 0:
		return roleCall, nil
	case counts[capReference] > 0 && len(p.kids) == 0 && counts[capDefinition]+counts[capName]+counts[capCall] == 0:
		return roleReference, nil
	case counts[capImport] > 0 && others(capImport) == 0:
		return roleImport, nil
	}
	return 0, fmt.Errorf("pattern %s: needs @definition.* with @name, @reference.call, a bare @reference, or @import.name or @import.path", p.typeName)
}

// markSymbols sets want to 2 for symbols a pattern starts at and at least 1
// for those it names below the root: the walker records the latter only
// under a recorded parent, which keeps outline walks small.
func markSymbols(p *qpat, want []uint8, root bool) {
	for _, s := range p.syms {
		if root {
			want[s] = 2
		} else if want[s] == 0 {
			want[s] = 1
		}
	}
	for _, a := range p.alts {
		markSymbols(a, want, root)
	}
	for _, k := range p.kids {
		markSymbols(k.pat, want, false)
	}
}

func rootSymbols(p *qpat) []uint16 {
	if p.alts == nil {
		return p.syms
	}
	var out []uint16
	for _, a := range p.alts {
		out = append(out, rootSymbols(a)...)
	}
	return out
}

// parseTagsQuery parses the supported subset of the query language.
func parseTagsQuery(src string) ([]*qpat, error) {
	p := &queryParser{src: src}
	var out []*qpat
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return out, nil
		}
		pat, err := p.pattern()
		if err != nil {
			return nil, err
		}
		if err := attachPredicates(pat, pat); err != nil {
			return nil, p.errorf("%v", err)
		}
		out = append(out, pat)
	}
}

// attachPredicates gives each predicate's regexp to the node of root that
// carries its capture.
func attachPredicates(root, q *qpat) error {
	for _, pr := range q.preds {
		n := captured(root, pr.capture)
		if n == nil {
			return fmt.Errorf("predicate names @%s, which the pattern does not capture", pr.capture)
		}
		n.text = pr.re
	}
	for _, a := range q.alts {
		if err := attachPredicates(root, a); err != nil {
			return err
		}
	}
	for _, k := range q.kids {
		if err := attachPredicates(root, k.pat); err != nil {
			return err
		}
	}
	return nil
}

func captured(q *qpat, name string) *qpat {
	for _, c := range q.caps {
		if c.role == capPrivate && c.name == name {
			return q
		}
	}
	for _, a := range q.alts {
		if n := captured(a, name); n != nil {
			return n
		}
	}
	for _, k := range q.kids {
		if n := captured(k.pat, name); n != nil {
			return n
		}
	}
	return nil
}

type queryParser struct {
	src string
	pos int
}

func (p *queryParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.src[:p.pos], "\n")
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

func (p *queryParser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ';':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		default:
			return
		}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *queryParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && isIdentByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *queryParser) pattern() (*qpat, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of query")
	}
	var pat *qpat
	switch p.src[p.pos] {
	case '(':
		p.pos++
		p.skipSpace()
		name := p.ident()
		if name == "" || name == "_" || strings.HasPrefix(name, "#") {
			return nil, p.errorf("expected a node type after '('")
		}
		pat = &qpat{typeName: name}
		for {
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errorf("unclosed '(%s'", name)
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if strings.HasPrefix(p.src[p.pos:], "(#") {
				pr, err := p.predicate()
				if err != nil {
					return nil, err
				}
				pat.preds = append(pat.preds, pr)
				continue
			}
			var kid qkid
			if p.src[p.pos] == '.' {
				kid.first = true
				p.pos++
				p.skipSpace()
			}
			if p.pos < len(p.src) && isIdentByte(p.src[p.pos]) {
				kid.fieldName = p.ident()
				p.skipSpace()
				if p.pos >= len(p.src) || p.src[p.pos] != ':' {
					return nil, p.errorf("expected ':' after field %q", kid.fieldName)
				}
				p.pos++
			}
			sub, err := p.pattern()
			if err != nil {
				return nil, err
			}
			kid.pat = sub
			pat.kids = append(pat.kids, kid)
		}
	case '[':
		p.pos++
		pat = &qpat{alts: []*qpat{}}
		for {
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errorf("unclosed '['")
			}
			if p.src[p.pos] == ']' {
				p.pos++
				break
			}
			sub, err := p.pattern()
			if err != nil {
				return nil, err
			}
			pat.alts = append(pat.alts, sub)
		}
		if len(pat.alts) == 0 {
			return nil, p.errorf("empty alternation")
		}
	default:
		return nil, p.errorf("unsupported query syntax %q", p.src[p.pos])
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '@' {
			return pat, nil
		}
		p.pos++
		name := p.ident()
		c, err := parseCapture(name)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		pat.caps = append(pat.caps, c)
	}
}

// predicate parses (#match? @_capture "regexp").
func (p *queryParser) predicate() (qpred, error) {
	p.pos += 2 // "(#"
	op := p.ident()
	if p.pos < len(p.src) && p.src[p.pos] == '?' {
		op += "?"
		p.pos++
	}
	if op != "match?" {
		return qpred{}, p.errorf("unsupported predicate #%s (only #match?)", op)
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '@' {
		return qpred{}, p.errorf("#match? needs a capture")
	}
	p.pos++
	name := p.ident()
	if !strings.HasPrefix(name, "_") {
		return qpred{}, p.errorf("#match? needs a private capture (@_name), not @%s", name)
	}
	p.skipSpace()
	lit, err := strconv.QuotedPrefix(p.src[p.pos:])
	if err != nil {
		return qpred{}, p.errorf("#match? needs a quoted regexp")
	}
	p.pos += len(lit)
	pattern, _ := strconv.Unquote(lit)
	re, err := regexp.Compile(pattern)
	if err != nil {
		return qpred{}, p.errorf("#match?: %v", err)
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != ')' {
		return qpred{}, p.errorf("unclosed predicate")
	}
	p.pos++
	return qpred{capture: name, re: re}, nil
}

func parseCapture(name string) (qcap, error) {
	switch {
	case strings.HasPrefix(name, "_") && len(name) > 1:
		return qcap{role: capPrivate, name: name}, nil
	case name == "name":
		return qcap{role: capName}, nil
	case name == "reference":
		return qcap{role: capReference}, nil
	case name == "reference.call":
		return qcap{role: capCall}, nil
	case name == "import.name":
		return qcap{role: capImport, kind: importName}, nil
	case name == "import.path":
		return qcap{role: capImport, kind: importPath}, nil
	case strings.HasPrefix(name, "definition."):
		k := Kind(strings.TrimPrefix(name, "definition."))
		if !knownKinds[k] {
			return qcap{}, fmt.Errorf("unknown definition kind %q", k)
		}
		return qcap{role: capDefinition, kind: k}, nil
	}
	return qcap{}, fmt.Errorf("unknown capture @%s", name)
}
