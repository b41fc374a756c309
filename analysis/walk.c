// A single pre-order cursor walk that copies the nodes a language's tags
// query can mention into a flat array, so Go never crosses cgo per node.
// It uses tree-sitter's public API only and is the reference for the
// faster walk over subtrees (subtree_walk.c). The tree-sitter runtime is
// linked in by github.com/smacker/go-tree-sitter; only the few
// declarations needed are repeated here (see walk.h).
#include <stdlib.h>
#include <string.h>
#include "walk.h"

// skip marks node types whose subtrees hold no outline entries (function
// bodies in Go): with prune set they are not entered at all, otherwise the
// records below them are flagged so definitions there can be dropped alike.
//
// With top set, the root's children are also listed in top->kids, and unless
// all is set only those not found in old (sorted, positions as in this tree)
// with the same span, symbol and subtree are recorded and entered. The rest
// are passed over as if absent, which lets an outline re-extract only the
// children an edit changed.
static void walk_core(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                      const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top) {
	out->recs = NULL;
	out->n = 0;
	out->visited = 0;
	out->oom = 0;
	uint32_t cap = 0;
	uint32_t depth_cap = 64;
	int32_t *stack = malloc(depth_cap * sizeof(int32_t));
	uint8_t *inskip = malloc(depth_cap);
	if (stack == NULL || inskip == NULL) {
		free(stack);
		free(inskip);
		out->oom = 1;
		return;
	}
	uint32_t kcap = 0, oi = 0;
	TSTreeCursor cur = ts_tree_cursor_new(ts_tree_root_node(tree));
	uint32_t depth = 0;
	for (;;) {
		TSNode node = ts_tree_cursor_current_node(&cur);
		TSSymbol sym = ts_node_symbol(node);
		int32_t idx = -1;
		if (top != NULL && depth == 1) {
			int in = loom_top_kid(top, &kcap, old, nold, &oi, all, *(const uint64_t *)node.id, ts_node_start_byte(node),
			                      ts_node_end_byte(node), sym);
			if (in < 0) {
				break;
			}
			if (!in) {
				goto next;
			}
		}
		out->visited++;
		// want[sym] is 2 for symbols a pattern can start at, 1 for symbols
		// that only matter as a direct child of a recorded node.
		uint8_t w = sym < nwant ? want[sym] : 0;
		uint8_t below = depth > 0 ? inskip[depth - 1] : 0;
		uint8_t is_skip = sym < nwant ? skip[sym] : 0;
		if (w == 2 || (w == 1 && depth > 0 && stack[depth - 1] >= 0)) {
			if (loom_push_rec(out, &cap, ts_node_start_byte(node), ts_node_end_byte(node), sym,
			                  ts_tree_cursor_current_field_id(&cur), depth > 0 ? stack[depth - 1] : -1, below) == NULL) {
				break;
			}
			idx = (int32_t)out->n - 1;
		}
		if (depth >= depth_cap) {
			uint32_t ncap = depth_cap * 2;
			int32_t *s = realloc(stack, (size_t)ncap * sizeof(int32_t));
			if (s != NULL) {
				stack = s;
			}
			uint8_t *k = realloc(inskip, ncap);
			if (k != NULL) {
				inskip = k;
			}
			if (s == NULL || k == NULL) {
				out->oom = 1;
				break;
			}
			depth_cap = ncap;
		}
		stack[depth] = idx;
		inskip[depth] = below | is_skip;
		if (!(prune && is_skip) && ts_tree_cursor_goto_first_child(&cur)) {
			depth++;
			continue;
		}
	next:
		while (!ts_tree_cursor_goto_next_sibling(&cur)) {
			if (depth == 0 || !ts_tree_cursor_goto_parent(&cur)) {
				goto done;
			}
			depth--;
		}
	}
done:
	ts_tree_cursor_delete(&cur);
	free(stack);
	free(inskip);
}

void loom_walk_cursor(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out) {
	walk_core(tree, want, skip, nwant, prune, NULL, 0, 1, out, NULL);
}


void loom_walk_top_cursor(const TSTree *tree, const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune,
                   const loom_kid *old, uint32_t nold, int all, loom_walk_out *out, loom_top_out *top) {
	top->kids = NULL;
	top->nkids = 0;
	top->oom = 0;
	top->root_sym = ts_node_symbol(ts_tree_root_node(tree));
	walk_core(tree, want, skip, nwant, prune, old, nold, all, out, top);
}

void loom_tree_edit(TSTree *tree, uint32_t start, uint32_t old_end, uint32_t new_end,
                    uint32_t sr, uint32_t sc, uint32_t oer, uint32_t oec, uint32_t ner, uint32_t nec) {
	TSInputEdit e;
	e.start_byte = start;
	e.old_end_byte = old_end;
	e.new_end_byte = new_end;
	e.start_point.row = sr;
	e.start_point.column = sc;
	e.old_end_point.row = oer;
	e.old_end_point.column = oec;
	e.new_end_point.row = ner;
	e.new_end_point.column = nec;
	ts_tree_edit(tree, &e);
}

uint32_t loom_root_start(const TSTree *tree) { return ts_node_start_byte(ts_tree_root_node(tree)); }
uint32_t loom_root_end(const TSTree *tree) { return ts_node_end_byte(ts_tree_root_node(tree)); }
uint32_t loom_field_count(const TSLanguage *lang) { return ts_language_field_count(lang); }
