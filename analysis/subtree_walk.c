// The index's walk, over tree-sitter's subtrees directly. The cursor walk
// in walk.c pays for a general API on every node (a TSNode built, its
// alias and symbol looked up again, positions kept in rows and columns);
// this one iterates each subtree's children array and keeps only byte
// offsets, for the same records in the same order.
//
// It reads the runtime's private structures, so the declarations below are
// copied from the tree-sitter sources vendored by the pinned binding
// (github.com/smacker/go-tree-sitter@v0.0.0-20240827094217-dd81d9e9be82:
// subtree.h, length.h, parser.h, tree.h), trimmed to the fields read here.
// TestDirectWalkMatchesCursor compares the two walks record for record.
#include <stdlib.h>
#include <string.h>
#include "walk.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && UINTPTR_MAX == 0xffffffffffffffffu

typedef uint16_t TSStateId;

typedef struct {
	uint32_t bytes;
	TSPoint extent;
} Length;

typedef struct {
	bool is_inline : 1;
	bool visible : 1;
	bool named : 1;
	bool extra : 1;
	bool has_changes : 1;
	bool is_missing : 1;
	bool is_keyword : 1;
	uint8_t symbol;
	uint16_t parse_state;
	uint8_t padding_columns;
	uint8_t padding_rows : 4;
	uint8_t lookahead_bytes : 4;
	uint8_t padding_bytes;
	uint8_t size_bytes;
} SubtreeInlineData;

typedef struct {
	volatile uint32_t ref_count;
	Length padding;
	Length size;
	uint32_t lookahead_bytes;
	uint32_t error_cost;
	uint32_t child_count;
	TSSymbol symbol;
	TSStateId parse_state;
	bool visible : 1;
	bool named : 1;
	bool extra : 1;
	bool fragile_left : 1;
	bool fragile_right : 1;
	bool has_changes : 1;
	bool has_external_tokens : 1;
	bool has_external_scanner_state_change : 1;
	bool depends_on_column : 1;
	bool is_missing : 1;
	bool is_keyword : 1;
	union {
		struct {
			uint32_t visible_child_count;
			uint32_t named_child_count;
			uint32_t visible_descendant_count;
			int32_t dynamic_precedence;
			uint16_t repeat_depth;
			uint16_t production_id;
		};
		int32_t lookahead_char;
	};
} SubtreeHeapData;

typedef union {
	SubtreeInlineData data;
	const SubtreeHeapData *ptr;
} Subtree;

typedef struct {
	TSFieldId field_id;
	uint8_t child_index;
	bool inherited;
} TSFieldMapEntry;

typedef struct {
	uint16_t index;
	uint16_t length;
} TSFieldMapSlice;

// The head of struct TSLanguage, up to the last field read here.
typedef struct {
	uint32_t version;
	uint32_t symbol_count;
	uint32_t alias_count;
	uint32_t token_count;
	uint32_t external_token_count;
	uint32_t state_count;
	uint32_t large_state_count;
	uint32_t production_id_count;
	uint32_t field_count;
	uint16_t max_alias_sequence_length;
	const uint16_t *parse_table;
	const uint16_t *small_parse_table;
	const uint32_t *small_parse_table_map;
	const void *parse_actions;
	const char *const *symbol_names;
	const char *const *field_names;
	const TSFieldMapSlice *field_map_slices;
	const TSFieldMapEntry *field_map_entries;
	const void *symbol_metadata;
	const TSSymbol *public_symbol_map;
	const uint16_t *alias_map;
	const TSSymbol *alias_sequences;
} LanguageHead;

typedef struct {
	Subtree root;
	const LanguageHead *language;
} TreeHead;

#define SYM_ERROR ((TSSymbol)-1)

static inline bool st_extra(Subtree s) { return s.data.is_inline ? s.data.extra : s.ptr->extra; }
static inline bool st_visible(Subtree s) { return s.data.is_inline ? s.data.visible : s.ptr->visible; }
static inline TSSymbol st_symbol(Subtree s) { return s.data.is_inline ? s.data.symbol : s.ptr->symbol; }
static inline uint32_t st_size(Subtree s) { return s.data.is_inline ? s.data.size_bytes : s.ptr->size.bytes; }
static inline uint32_t st_padding(Subtree s) { return s.data.is_inline ? s.data.padding_bytes : s.ptr->padding.bytes; }
static inline uint32_t st_child_count(Subtree s) { return s.data.is_inline ? 0 : s.ptr->child_count; }
static inline const Subtree *st_children(Subtree s) { return (const Subtree *)s.ptr - s.ptr->child_count; }

static inline TSSymbol public_symbol(const LanguageHead *l, TSSymbol s) {
	return s == SYM_ERROR ? s : l->public_symbol_map[s];
}

static inline const TSSymbol *alias_sequence(const LanguageHead *l, Subtree parent) {
	uint16_t id = parent.ptr->production_id;
	return id ? &l->alias_sequences[(uint32_t)id * l->max_alias_sequence_length] : NULL;
}

// field_at is the field a child at structural index i of parent holds
// directly (inherited entries name fields of the child's own children).
static inline TSFieldId field_at(const LanguageHead *l, Subtree parent, uint32_t i) {
	if (l->field_count == 0) {
		return 0;
	}
	TSFieldMapSlice slice = l->field_map_slices[parent.ptr->production_id];
	const TSFieldMapEntry *e = &l->field_map_entries[slice.index];
	for (const TSFieldMapEntry *end = e + slice.length; e < end; e++) {
		if (!e->inherited && e->child_index == i) {
			return e->field_id;
		}
	}
	return 0;
}

// A frame iterates one subtree's children: a visible node, or an
// invisible one the walk passes through as the cursor does.
typedef struct {
	Subtree parent;
	const TSSymbol *aliases;
	uint32_t child;      // next child
	uint32_t structural; // next child's index among non-extra children
	uint32_t pos;        // next child's start byte
	int32_t rec;         // record of the nearest visible ancestor, -1 if none
	TSFieldId chain;     // field the invisible parent holds in its own parent
	uint8_t below;       // a visible ancestor is a skip node
	uint8_t top;         // the nearest visible ancestor is the root
} frame;

// push_frame pushes f onto the stack, growing it; 0 when memory runs out.
static inline int push_frame(frame **stack, uint32_t *sp, uint32_t *cap, frame f) {
	if (*sp == *cap) {
		frame *s = realloc(*stack, (size_t)*cap * 2 * sizeof(frame));
		if (s == NULL) {
			return 0;
		}
		*stack = s;
		*cap *= 2;
	}
	(*stack)[(*sp)++] = f;
	return 1;
}

// held_field is the field the child at structural index si of f's subtree
// holds: its own, or the one its invisible parent holds. Extras hold none.
static inline TSFieldId held_field(const LanguageHead *l, const frame *f, uint32_t si, bool extra) {
	if (extra) {
		return 0;
	}
	TSFieldId id = field_at(l, f->parent, si);
	return id != 0 ? id : f->chain;
}

// walk_direct is walk_core (walk.c) over subtrees: with top set it also
// lists the root's children and enters only those not in old, unless all.
static void walk_direct(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                        const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top) {
	const TreeHead *t = (const TreeHead *)tree;
	const LanguageHead *l = t->language;
	out->recs = NULL;
	out->n = 0;
	out->visited = 0;
	out->oom = 0;
	uint32_t cap = 0, fcap = 64, sp = 0, kcap = 0, oi = 0;
	frame *stack = malloc(fcap * sizeof(frame));
	if (stack == NULL) {
		out->oom = 1;
		return;
	}

	// Each pass of the loop handles one visible node, the root first: it is
	// recorded if wanted and, unless a leaf or pruned, its children get a
	// frame; then the next visible node in pre-order is found.
	Subtree node = t->root;
	uint32_t start = st_padding(node);
	TSSymbol sym = public_symbol(l, st_symbol(node));
	TSFieldId field = 0;
	int32_t parent_rec = -1;
	uint8_t below = 0;
	uint8_t is_root = 1;
	for (;;) {
		out->visited++;
		uint8_t w = sym < nwant ? want[sym] : 0;
		uint8_t is_skip = sym < nwant ? skip[sym] : 0;
		int32_t idx = -1;
		if (w == 2 || (w == 1 && parent_rec >= 0)) {
			if (loom_push_rec(out, &cap, start, start + st_size(node), sym, field, parent_rec, below) == NULL) {
				break;
			}
			idx = (int32_t)out->n - 1;
		}
		if (st_child_count(node) > 0 && !(prune && is_skip) &&
		    !push_frame(&stack, &sp, &fcap,
		                (frame){node, alias_sequence(l, node), 0, 0, start, idx, 0, (uint8_t)(below | is_skip), is_root})) {
			out->oom = 1;
			break;
		}
		is_root = 0;

		int found = 0;
		while (sp > 0 && !found) {
			frame *f = &stack[sp - 1];
			uint32_t count = f->parent.ptr->child_count;
			if (f->child == count) {
				sp--;
				continue;
			}
			const Subtree *kids = st_children(f->parent);
			Subtree c = kids[f->child];
			uint32_t cstart = f->pos;
			bool extra = st_extra(c);
			uint32_t si = f->structural;
			TSSymbol alias = 0;
			if (!extra) {
				if (f->aliases != NULL) {
					alias = f->aliases[si];
				}
				f->structural++;
			}
			f->child++;
			f->pos = cstart + st_size(c);
			if (f->child < count) {
				Subtree next = kids[f->child];
				f->pos += st_padding(next);
				// The walk is bound by loads of subtrees scattered in memory;
				// ask for the next sibling's while this one is handled.
				if (!next.data.is_inline) {
					__builtin_prefetch(next.ptr);
				}
			}
			if (st_visible(c) || alias != 0) {
				node = c;
				start = cstart;
				sym = public_symbol(l, alias ? alias : st_symbol(c));
				if (top != NULL && f->top) {
					uint64_t id;
					memcpy(&id, &c, sizeof id);
					int in = loom_top_kid(top, &kcap, old, nold, &oi, all, id, cstart, cstart + st_size(c), sym);
					if (in < 0) {
						break;
					}
					if (!in) {
						continue; // passed over as if absent
					}
				}
				field = held_field(l, f, si, extra);
				parent_rec = f->rec;
				below = f->below;
				found = 1;
			} else if (st_child_count(c) > 0 && c.ptr->visible_child_count > 0) {
				// An invisible node: its children are its parent's, as
				// the cursor sees them.
				frame inner = {c, alias_sequence(l, c), 0, 0, cstart, f->rec, held_field(l, f, si, extra), f->below, f->top};
				if (!push_frame(&stack, &sp, &fcap, inner)) {
					out->oom = 1;
					break;
				}
			}
		}
		if (!found || out->oom || (top != NULL && top->oom)) {
			break;
		}
	}
	free(stack);
}

void loom_walk(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out) {
	walk_direct(tree, want, skip, nwant, prune, NULL, 0, 1, out, NULL);
}

void loom_walk_top(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                         const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top) {
	const TreeHead *t = (const TreeHead *)tree;
	top->kids = NULL;
	top->nkids = 0;
	top->oom = 0;
	top->root_sym = public_symbol(t->language, st_symbol(t->root));
	walk_direct(tree, want, skip, nwant, prune, old, nold, all, out, top);
}

#else

// Elsewhere the private layout above is unverified: walk with the cursor.
void loom_walk(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out) {
	loom_walk_cursor(tree, want, skip, nwant, prune, out);
}

void loom_walk_top(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                   const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top) {
	loom_walk_top_cursor(tree, want, skip, nwant, prune, old, nold, all, out, top);
}

#endif
