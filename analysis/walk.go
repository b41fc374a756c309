package analysis

/*
#include <stdlib.h>
#include "walk.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	sitter "github.com/smacker/go-tree-sitter"
)

// walkRec mirrors loom_rec in walk.h.
type walkRec struct {
	start, end uint32
	sym, field uint16
	parent     int32
	flags      uint32
}

const recInSkip = 1 // mirrors LOOM_IN_SKIP

// The binding hides its C pointers; both structs keep them in the first
// field (sitter.BaseTree.c, sitter.Language.ptr) at the pinned version, and
// TestBindingLayout checks that assumption against the binding's own API.
func cTree(t *sitter.Tree) *C.TSTree {
	return *(**C.TSTree)(unsafe.Pointer(t.BaseTree))
}

func cLanguage(l *sitter.Language) *C.TSLanguage {
	return *(**C.TSLanguage)(unsafe.Pointer(l))
}

func rootSpan(t *sitter.Tree) (start, end uint32) {
	ct := cTree(t)
	return uint32(C.loom_root_start(ct)), uint32(C.loom_root_end(ct))
}

func fieldCount(l *sitter.Language) int {
	return int(C.loom_field_count(cLanguage(l)))
}

var errWalkMemory = errors.New("analysis: out of memory walking syntax tree")

// walkTreeWith records, in pre-order, every node of t whose symbol is
// marked in want, and calls fn with the records (valid only during fn),
// walking subtrees directly or, with cursor set, through tree-sitter's
// cursor. skip has want's length; prune stops the walk at skip nodes
// instead of flagging below them. The index and the one-shot functions
// parse and walk in one call instead (parseArena.parseWalk); this walk of
// a binding tree is what tests compare the two walks on.
func walkTreeWith(cursor bool, t *sitter.Tree, want, skip []uint8, prune bool, fn func(recs []walkRec)) error {
	if len(want) == 0 || len(skip) != len(want) {
		return errors.New("analysis: walk tables do not match the grammar")
	}
	var out C.loom_walk_out
	p := C.int(0)
	if prune {
		p = 1
	}
	if cursor {
		C.loom_walk_cursor(cTree(t), (*C.uint8_t)(unsafe.Pointer(&want[0])), (*C.uint8_t)(unsafe.Pointer(&skip[0])), C.uint32_t(len(want)), p, &out)
	} else {
		C.loom_walk(cTree(t), (*C.uint8_t)(unsafe.Pointer(&want[0])), (*C.uint8_t)(unsafe.Pointer(&skip[0])), C.uint32_t(len(want)), p, &out)
	}
	defer C.free(unsafe.Pointer(out.recs))
	if out.oom != 0 {
		return errWalkMemory
	}
	var recs []walkRec
	if out.n > 0 {
		recs = unsafe.Slice((*walkRec)(unsafe.Pointer(out.recs)), int(out.n))
	}
	fn(recs)
	return nil
}

// editTree applies an edit with all three points; the binding's Tree.Edit
// passes the old end point as the new one, which corrupts rows and columns
// after any edit that changes them.
func editTree(t *sitter.Tree, e InputEdit) {
	C.loom_tree_edit(cTree(t), C.uint32_t(e.StartByte), C.uint32_t(e.OldEndByte), C.uint32_t(e.NewEndByte),
		C.uint32_t(e.StartPoint.Line), C.uint32_t(e.StartPoint.Column),
		C.uint32_t(e.OldEndPoint.Line), C.uint32_t(e.OldEndPoint.Column),
		C.uint32_t(e.NewEndPoint.Line), C.uint32_t(e.NewEndPoint.Column))
}

// topKid mirrors loom_kid: a child of the root, its subtree (see walk.h),
// symbol and span, and whether the walk recorded it.
type topKid struct {
	subtree      uint64
	start, end   uint32
	sym, entered uint32
}

// walkTop is walkTree that also lists the root's children. Unless all, it
// records only the children not in old (sorted) with the same span, symbol
// and subtree; old's subtrees must belong to a tree still alive, or freed
// memory could be reused. fn gets the records, the children and the root's
// symbol, valid only during fn.
func walkTop(t *sitter.Tree, want, skip []uint8, prune bool, old []topKid, all bool, fn func(recs []walkRec, kids []topKid, rootSym uint16)) error {
	return walkTopWith(false, t, want, skip, prune, old, all, fn)
}

// walkTopWith is walkTop with the cursor walk, the reference for the
// direct one, when cursor is set.
func walkTopWith(cursor bool, t *sitter.Tree, want, skip []uint8, prune bool, old []topKid, all bool, fn func(recs []walkRec, kids []topKid, rootSym uint16)) error {
	if len(want) == 0 || len(skip) != len(want) {
		return errors.New("analysis: walk tables do not match the grammar")
	}
	var out C.loom_walk_out
	var top C.loom_top_out
	p, a := C.int(0), C.int(0)
	if prune {
		p = 1
	}
	if all {
		a = 1
	}
	var op *C.loom_kid
	if len(old) > 0 {
		op = (*C.loom_kid)(unsafe.Pointer(&old[0]))
	}
	if cursor {
		C.loom_walk_top_cursor(cTree(t), (*C.uint8_t)(unsafe.Pointer(&want[0])), (*C.uint8_t)(unsafe.Pointer(&skip[0])), C.uint32_t(len(want)), p,
			op, C.uint32_t(len(old)), a, &out, &top)
	} else {
		C.loom_walk_top(cTree(t), (*C.uint8_t)(unsafe.Pointer(&want[0])), (*C.uint8_t)(unsafe.Pointer(&skip[0])), C.uint32_t(len(want)), p,
			op, C.uint32_t(len(old)), a, &out, &top)
	}
	defer C.free(unsafe.Pointer(out.recs))
	defer C.free(unsafe.Pointer(top.kids))
	if out.oom != 0 || top.oom != 0 {
		return errWalkMemory
	}
	var recs []walkRec
	if out.n > 0 {
		recs = unsafe.Slice((*walkRec)(unsafe.Pointer(out.recs)), int(out.n))
	}
	var kids []topKid
	if top.nkids > 0 {
		kids = unsafe.Slice((*topKid)(unsafe.Pointer(top.kids)), int(top.nkids))
	}
	fn(recs, kids, uint16(top.root_sym))
	return nil
}

// arenaLimit bounds the memory one parse takes from its worker's arena;
// larger parses continue on the heap and are freed the usual way.
const arenaLimit = 256 << 20

// parseArena is a worker's memory for one-shot parses (see arena.c). It is
// not safe for concurrent use.
type parseArena struct{ a *C.loom_arena }

// newParseArena makes an arena that holds up to limit bytes per parse.
func newParseArena(limit int) (*parseArena, error) {
	a := C.loom_arena_new(C.size_t(limit))
	if a == nil {
		return nil, errWalkMemory
	}
	return &parseArena{a: a}, nil
}

func (pa *parseArena) close() {
	C.loom_arena_free(pa.a)
	pa.a = nil
}

// arenaPool serves the one-shot per-file functions (Symbols, Outline,
// FindReferences). A pooled arena is trimmed to its first chunk when put
// back, and its C memory is freed when the pool lets it go.
var arenaPool = sync.Pool{New: func() any {
	pa, err := newParseArena(arenaLimit)
	if err != nil {
		return nil
	}
	runtime.AddCleanup(pa, func(a *C.loom_arena) { C.loom_arena_free(a) }, pa.a)
	return pa
}}

func getArena() (*parseArena, error) {
	pa, _ := arenaPool.Get().(*parseArena)
	if pa == nil {
		return nil, errWalkMemory
	}
	return pa, nil
}

func putArena(pa *parseArena) {
	C.loom_arena_trim(pa.a)
	arenaPool.Put(pa)
}

// parseWalk parses src from scratch and walks the tree as walkTree does,
// in one call that never builds a Go-side tree: the index's path, where
// each tree is walked once and dropped. It fails when the parse takes
// longer than timeout.
func (pa *parseArena) parseWalk(cl *compiledLang, src []byte, timeout time.Duration, want, skip []uint8, prune bool, fn func(recs []walkRec)) error {
	if len(want) == 0 || len(skip) != len(want) {
		return errors.New("analysis: walk tables do not match the grammar")
	}
	if timeout <= 0 {
		timeout = DefaultParseTimeout
	}
	if cl.prepare != nil {
		src = cl.prepare(src)
	}
	var out C.loom_walk_out
	p := C.int(0)
	if prune {
		p = 1
	}
	// src is only read during the call, and holds no Go pointers.
	var s *C.char
	if len(src) > 0 {
		s = (*C.char)(unsafe.Pointer(&src[0]))
	} else {
		s = (*C.char)(unsafe.Pointer(&emptySource[0]))
	}
	ok := C.loom_parse_walk(pa.a, cLanguage(cl.grammar), s, C.uint32_t(len(src)), C.uint64_t(timeout/time.Microsecond),
		(*C.uint8_t)(unsafe.Pointer(&want[0])), (*C.uint8_t)(unsafe.Pointer(&skip[0])), C.uint32_t(len(want)), p, &out)
	defer C.free(unsafe.Pointer(out.recs))
	if ok == 0 {
		return fmt.Errorf("analysis: parse timed out after %v", timeout)
	}
	if out.oom != 0 {
		return errWalkMemory
	}
	var recs []walkRec
	if out.n > 0 {
		recs = unsafe.Slice((*walkRec)(unsafe.Pointer(out.recs)), int(out.n))
	}
	fn(recs)
	return nil
}

var emptySource = []byte{0}
