#ifndef LOOM_WALK_H
#define LOOM_WALK_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

// Declarations copied from tree-sitter's api.h as vendored by
// github.com/smacker/go-tree-sitter@v0.0.0-20240827094217-dd81d9e9be82.
typedef uint16_t TSSymbol;
typedef uint16_t TSFieldId;
typedef struct TSTree TSTree;
typedef struct TSLanguage TSLanguage;
typedef struct TSPoint { uint32_t row; uint32_t column; } TSPoint;
typedef struct TSNode { uint32_t context[4]; const void *id; const TSTree *tree; } TSNode;
typedef struct TSTreeCursor { const void *tree; const void *id; uint32_t context[3]; } TSTreeCursor;
typedef struct TSInputEdit {
	uint32_t start_byte;
	uint32_t old_end_byte;
	uint32_t new_end_byte;
	TSPoint start_point;
	TSPoint old_end_point;
	TSPoint new_end_point;
} TSInputEdit;

typedef struct TSParser TSParser;

void ts_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
                      void *(*new_realloc)(void *, size_t), void (*new_free)(void *));
TSParser *ts_parser_new(void);
void ts_parser_delete(TSParser *self);
bool ts_parser_set_language(TSParser *self, const TSLanguage *language);
void ts_parser_set_timeout_micros(TSParser *self, uint64_t timeout_micros);
TSTree *ts_parser_parse_string(TSParser *self, const TSTree *old_tree, const char *string, uint32_t length);
void ts_tree_delete(TSTree *self);
TSNode ts_tree_root_node(const TSTree *self);
void ts_tree_edit(TSTree *self, const TSInputEdit *edit);
TSSymbol ts_node_symbol(TSNode self);
uint32_t ts_node_start_byte(TSNode self);
uint32_t ts_node_end_byte(TSNode self);
TSTreeCursor ts_tree_cursor_new(TSNode node);
void ts_tree_cursor_delete(TSTreeCursor *self);
TSNode ts_tree_cursor_current_node(const TSTreeCursor *self);
TSFieldId ts_tree_cursor_current_field_id(const TSTreeCursor *self);
bool ts_tree_cursor_goto_first_child(TSTreeCursor *self);
bool ts_tree_cursor_goto_next_sibling(TSTreeCursor *self);
bool ts_tree_cursor_goto_parent(TSTreeCursor *self);
uint32_t ts_language_field_count(const TSLanguage *self);

// loom_rec mirrors Go's walkRec; keep the two in sync.
typedef struct loom_rec {
	uint32_t start;
	uint32_t end;
	uint16_t sym;
	uint16_t field;
	int32_t parent; // index of the direct parent's record, -1 if not recorded
	uint32_t flags; // LOOM_IN_SKIP: below a node of a skip type
} loom_rec;

#define LOOM_IN_SKIP 1u

typedef struct loom_walk_out {
	loom_rec *recs;
	uint32_t n;
	uint32_t visited;
	int oom;
} loom_walk_out;

// loom_kid is a child of the root: its subtree, its symbol (an alias
// depends on the parent), its span, and whether the walk recorded it. The
// subtree is the 8-byte tree-sitter Subtree the node's id points at in the
// pinned runtime (subtree.h): a pointer to shared, immutable heap data, or a
// small leaf's inline data. Equal values in two live trees are one unchanged
// subtree; TestSubtreeIdentity checks this against the runtime.
typedef struct loom_kid {
	uint64_t subtree;
	uint32_t start;
	uint32_t end;
	uint32_t sym;
	uint32_t entered;
} loom_kid;

typedef struct loom_top_out {
	loom_kid *kids;
	uint32_t nkids;
	uint32_t root_sym;
	int oom;
} loom_top_out;

// Helpers both walks share (walk.c over the cursor, subtree_walk.c over
// subtrees).

// loom_push_rec appends a record to out, growing it as needed; NULL (and
// out->oom set) when memory runs out. *cap is out->recs' capacity.
static inline loom_rec *loom_push_rec(loom_walk_out *out, uint32_t *cap, uint32_t start, uint32_t end, uint16_t sym,
                                      uint16_t field, int32_t parent, uint8_t below) {
	if (out->n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 1024;
		loom_rec *r = (loom_rec *)realloc(out->recs, (size_t)ncap * sizeof(loom_rec));
		if (r == NULL) {
			out->oom = 1;
			return NULL;
		}
		out->recs = r;
		*cap = ncap;
	}
	loom_rec *r = &out->recs[out->n++];
	r->start = start;
	r->end = end;
	r->sym = sym;
	r->field = field;
	r->parent = parent;
	r->flags = below ? LOOM_IN_SKIP : 0;
	return r;
}

// loom_top_kid lists a child of the root in top and says whether the walk
// enters it: 1 with all set, else unless old (sorted by span; *oi is where
// the search resumes) holds one with the same span, symbol and subtree.
// -1 (and top->oom set) when memory runs out.
static inline int loom_top_kid(loom_top_out *top, uint32_t *kcap, const loom_kid *old, uint32_t nold, uint32_t *oi,
                               int all, uint64_t subtree, uint32_t start, uint32_t end, uint32_t sym) {
	uint32_t in = all;
	if (!in) {
		uint32_t i = *oi;
		while (i < nold && (old[i].start < start || (old[i].start == start && old[i].end < end))) {
			i++;
		}
		if (i < nold && old[i].start == start && old[i].end == end && old[i].sym == sym && old[i].subtree == subtree) {
			i++;
		} else {
			in = 1;
		}
		*oi = i;
	}
	if (top->nkids == *kcap) {
		uint32_t ncap = *kcap ? *kcap * 2 : 1024;
		loom_kid *k = (loom_kid *)realloc(top->kids, (size_t)ncap * sizeof(loom_kid));
		if (k == NULL) {
			top->oom = 1;
			return -1;
		}
		top->kids = k;
		*kcap = ncap;
	}
	loom_kid *k = &top->kids[top->nkids++];
	k->subtree = subtree;
	k->start = start;
	k->end = end;
	k->sym = sym;
	k->entered = in;
	return (int)in;
}

// loom_walk records, in pre-order, the nodes whose symbols want marks
// (subtree_walk.c, over tree-sitter's subtrees). loom_walk_top also lists
// the root's children and enters only those an outline needs again.
void loom_walk(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out);
void loom_walk_top(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                   const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top);
// The same walks through tree-sitter's public cursor (walk.c): the
// reference the tests hold the subtree walks to, and the fallback where
// the private layout is not the one declared.
void loom_walk_cursor(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out);
void loom_walk_top_cursor(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                          const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top);
void loom_tree_edit(TSTree *tree, uint32_t start, uint32_t old_end, uint32_t new_end,
                    uint32_t sr, uint32_t sc, uint32_t oer, uint32_t oec, uint32_t ner, uint32_t nec);
uint32_t loom_root_start(const TSTree *tree);
uint32_t loom_root_end(const TSTree *tree);
uint32_t loom_field_count(const TSLanguage *lang);

// loom_arena serves one parse at a time on one worker (see arena.c).
typedef struct loom_arena loom_arena;
loom_arena *loom_arena_new(size_t limit);
void loom_arena_free(loom_arena *a);
// loom_arena_trim gives back all but the arena's first chunk.
void loom_arena_trim(loom_arena *a);
// loom_parse_walk parses src with a fresh parser in a, walks the tree as
// loom_walk does and discards everything but out (heap memory the caller
// frees). It returns 0 when the parse failed or timed out.
int loom_parse_walk(loom_arena *a, const TSLanguage *lang, const char *src, uint32_t len, uint64_t timeout_micros,
                    const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out);
#endif
