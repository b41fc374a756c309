package analysis

import (
	"sort"
	"strings"
)

// rawDef is a definition as offsets, before nesting and positions.
type rawDef struct {
	kind               Kind
	start, end         uint32
	nameStart, nameEnd uint32
}

// rawRef is an identifier occurrence as offsets.
type rawRef struct {
	start, end uint32
	kind       RefKind
}

// hit is one capture of a pattern match.
type hit struct {
	role capRole
	kind Kind
	rec  int32
}

// extractor matches a compiled language's patterns over walk records. One is
// reused per worker to keep its scratch slices.
type extractor struct {
	cl    *compiledLang
	recs  []walkRec
	first []int32
	next  []int32
	last  []int32
	claim []uint8 // 1: a definition's name, 2: a call
	defs  []rawDef
	refs  []rawRef
	caps  []hit  // scratch for match
	conts []cont // continuation stack for match

	src     []byte          // the file's text, for names the patterns need
	imports map[string]bool // local names of the packages the file imports

	role   patRole // of the root pattern being matched
	nmatch int     // its matches so far at this node
}

const (
	claimName    = 1
	claimCall    = 2
	claimPackage = 3 // the local name an import gives a package
)

// maxMatchesPerNode bounds the enumeration of pattern matches at one node,
// so pathological trees cannot make matching quadratic.
const maxMatchesPerNode = 256

// run fills x.defs and, unless outlineOnly, x.refs, from the walk records
// of src.
func (x *extractor) run(cl *compiledLang, recs []walkRec, src []byte, outlineOnly bool) {
	x.cl = cl
	x.recs = recs
	x.src = src
	clear(x.imports)
	x.defs = x.defs[:0]
	x.refs = x.refs[:0]
	n := len(recs)
	x.first = resize(x.first, n)
	x.next = resize(x.next, n)
	x.last = resize(x.last, n)
	if cap(x.claim) < n {
		x.claim = make([]uint8, n)
	}
	x.claim = x.claim[:n]
	for i := range n {
		x.first[i], x.next[i], x.last[i], x.claim[i] = -1, -1, -1, 0
	}
	for i := range n {
		p := recs[i].parent
		if p < 0 || int(p) >= n {
			continue
		}
		if x.last[p] < 0 {
			x.first[p] = int32(i)
		} else {
			x.next[x.last[p]] = int32(i)
		}
		x.last[p] = int32(i)
	}
	for i := range n {
		sym := recs[i].sym
		for _, rp := range cl.roots[sym] {
			if outlineOnly && rp.role != roleDefinition {
				continue
			}
			x.apply(int32(i), rp)
		}
		if !outlineOnly && cl.refSym[sym] {
			switch x.claim[i] {
			case 0:
				kind := RefReference
				if f := recs[i].field; len(x.imports) > 0 && int(f) < len(cl.qualifier) && cl.qualifier[f] &&
					x.imports[string(x.text(int32(i)))] {
					kind = RefPackage
				}
				x.refs = append(x.refs, rawRef{start: recs[i].start, end: recs[i].end, kind: kind})
			case claimCall:
				x.refs = append(x.refs, rawRef{start: recs[i].start, end: recs[i].end, kind: RefCall})
			case claimPackage:
				x.refs = append(x.refs, rawRef{start: recs[i].start, end: recs[i].end, kind: RefPackage})
			}
		}
	}
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func (x *extractor) apply(i int32, rp rootPat) {
	// Most nodes a pattern can start at do not match it; finding that out
	// without enumerating is cheaper.
	if !x.matches(i, rp.pat) {
		return
	}
	x.role, x.nmatch = rp.role, 0
	x.conts = append(x.conts[:0], cont{kind: contEmit})
	x.match(i, rp.pat, x.caps[:0], 0)
}

// emit handles one match of the current root pattern; true stops the
// enumeration.
func (x *extractor) emit(caps []hit) bool {
	x.caps = caps[:0] // keep the grown scratch
	x.nmatch++
	switch x.role {
	case roleDefinition:
		def, name := int32(-1), int32(-1)
		var kind Kind
		for _, h := range caps {
			switch h.role {
			case capDefinition:
				def, kind = h.rec, h.kind
			case capName:
				name = h.rec
			}
		}
		if def >= 0 && name >= 0 && x.claim[name] == 0 {
			x.claim[name] = claimName
			d, nm := x.recs[def], x.recs[name]
			if d.flags&recInSkip != 0 {
				break // local to a body the outline does not enter
			}
			for nm.start < nm.end && int(nm.end) <= len(x.src) && strings.IndexByte(x.cl.nameTrim, x.src[nm.start]) >= 0 {
				nm.start++ // Ruby's :name
			}
			x.defs = append(x.defs, rawDef{kind: kind, start: d.start, end: d.end, nameStart: nm.start, nameEnd: nm.end})
		}
	case roleCall:
		for _, h := range caps {
			if h.role == capCall && x.claim[h.rec] == 0 {
				x.claim[h.rec] = claimCall
			}
		}
	case roleImport:
		// Imports come before the code that uses them, and records are in
		// source order, so the whole list is known before any reference is
		// told apart as a package qualifier (see run).
		for _, h := range caps {
			if h.role != capImport {
				continue
			}
			text := string(x.text(h.rec))
			if h.kind == importPath {
				text = packageName(text)
			} else if x.claim[h.rec] == 0 {
				x.claim[h.rec] = claimPackage // the local name a package is given
			}
			if text != "" && text != "_" && text != "." {
				if x.imports == nil {
					x.imports = map[string]bool{}
				}
				x.imports[text] = true
			}
		}
	}
	return x.nmatch >= maxMatchesPerNode
}

// text is the source text of record i.
func (x *extractor) text(i int32) []byte {
	r := x.recs[i]
	if int(r.end) > len(x.src) || r.start > r.end {
		return nil
	}
	return x.src[r.start:r.end]
}

// packageName guesses the name a package is known by from its import path
// (a quoted string literal): the last element, without a major version
// element (/v2) or suffix (yaml.v3) and without a go- prefix or -go
// suffix. A package declaring another name is missed, and its uses stay
// plain references.
func packageName(quoted string) string {
	p := strings.Trim(quoted, "\"`'")
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && isMajorVersion(name) {
		name = elems[len(elems)-2]
	}
	if i := strings.LastIndex(name, ".v"); i > 0 && isMajorVersion(name[i+1:]) {
		name = name[:i]
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "go-"), "-go")
	return name
}

// isMajorVersion reports whether s is v followed by digits.
func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// matches reports whether p matches at record i at all. Kids match
// independently of each other, so one match of each kid is enough.
func (x *extractor) matches(i int32, p *qpat) bool {
	if p.alts != nil {
		for _, a := range p.alts {
			if x.matches(i, a) {
				return true
			}
		}
		return false
	}
	if !x.symIn(i, p) {
		return false
	}
	for ki := range p.kids {
		kid := &p.kids[ki]
		ok := false
		for j := x.first[i]; j >= 0 && !ok; j = x.next[j] {
			ok = (kid.field == 0 || x.recs[j].field == kid.field) && x.matches(j, kid.pat)
			if kid.first {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// symIn reports whether record i is of one of p's symbols (and, when p
// carries a #match? predicate, whether its text matches).
func (x *extractor) symIn(i int32, p *qpat) bool {
	sym := x.recs[i].sym
	for _, s := range p.syms {
		if s == sym {
			return p.text == nil || p.text.Match(x.text(i))
		}
	}
	return false
}

// cont is what to do after a sub-pattern matched: the enumeration's
// continuation as data in x.conts, a stack, where closures would each be
// allocated. next indexes x.conts.
type cont struct {
	kind contKind
	i    int32
	p    *qpat
	ki   int
	next int
}

type contKind uint8

const (
	contEmit    contKind = iota // a whole root pattern matched
	contKid                     // kid ki of p at i matched: match the next kid
	contAltCaps                 // an alternative of p at i matched: add p's captures
)

func (x *extractor) resume(k int, caps []hit) bool {
	c := x.conts[k]
	switch c.kind {
	case contKid:
		return x.matchKids(c.i, c.p, c.ki+1, caps, c.next)
	case contAltCaps:
		return x.resume(c.next, appendCaps(caps, c.p.caps, c.i))
	default:
		return x.emit(caps)
	}
}

// match enumerates the matches of p at record i, resuming k with the
// captures of each; true stops. caps is shared scratch, valid only until
// the enumeration moves on.
func (x *extractor) match(i int32, p *qpat, caps []hit, k int) bool {
	if p.alts != nil {
		x.conts = append(x.conts, cont{kind: contAltCaps, i: i, p: p, next: k})
		c := len(x.conts) - 1
		stop := false
		for _, a := range p.alts {
			if stop = x.match(i, a, caps, c); stop {
				break
			}
		}
		x.conts = x.conts[:c]
		return stop
	}
	if !x.symIn(i, p) {
		return false
	}
	return x.matchKids(i, p, 0, caps, k)
}

func (x *extractor) matchKids(i int32, p *qpat, ki int, caps []hit, k int) bool {
	if ki == len(p.kids) {
		return x.resume(k, appendCaps(caps, p.caps, i))
	}
	kid := &p.kids[ki]
	x.conts = append(x.conts, cont{kind: contKid, i: i, p: p, ki: ki, next: k})
	c := len(x.conts) - 1
	stop := false
	for j := x.first[i]; j >= 0 && !stop; j = x.next[j] {
		if kid.field == 0 || x.recs[j].field == kid.field {
			stop = x.match(j, kid.pat, caps, c)
		}
		if kid.first {
			break
		}
	}
	x.conts = x.conts[:c]
	return stop
}

func appendCaps(caps []hit, pc []qcap, rec int32) []hit {
	for _, c := range pc {
		caps = append(caps, hit{role: c.role, kind: c.kind, rec: rec})
	}
	return caps
}

// maxSignature caps the signature line kept per symbol.
const maxSignature = 160

// buildSymbols nests raw definitions by containment, renames functions inside
// types to methods, drops variables local to a function, and adds positions.
func buildSymbols(src []byte, li lineIndex, raw []rawDef) []Symbol {
	sort.SliceStable(raw, func(a, b int) bool {
		ra, rb := raw[a], raw[b]
		if ra.start != rb.start {
			return ra.start < rb.start
		}
		if ra.end != rb.end {
			return ra.end > rb.end
		}
		return ra.nameStart < rb.nameStart
	})
	type open struct {
		start, end uint32
		index      int
		kind       Kind
		inCallable bool
	}
	var stack []open
	out := make([]Symbol, 0, len(raw))
	for _, d := range raw {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.start <= d.start && d.end <= top.end && (top.start != d.start || top.end != d.end) {
				break
			}
			stack = stack[:len(stack)-1]
		}
		parent, inCallable := -1, false
		var parentKind Kind
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			parent, inCallable, parentKind = top.index, top.inCallable || top.kind.isCallable(), top.kind
		}
		kind := d.kind
		if inCallable && kind.isLocalOnly() {
			continue
		}
		if kind == KindFunction && parentKind.isContainer() {
			kind = KindMethod
		}
		name := string(src[d.nameStart:d.nameEnd])
		sig := lineText(src, d.nameStart, maxSignature)
		sig = strings.TrimSpace(strings.TrimSuffix(sig, "{"))
		out = append(out, Symbol{
			Name:      name,
			Kind:      kind,
			Range:     li.span(d.start, d.end),
			NameRange: li.span(d.nameStart, d.nameEnd),
			Signature: sig,
			Parent:    parent,
		})
		stack = append(stack, open{start: d.start, end: d.end, index: len(out) - 1, kind: kind, inCallable: inCallable})
	}
	return out
}
