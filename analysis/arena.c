// Arena allocation for one-shot parses. Building an index parses thousands
// of files and throws each tree away right after walking it; with
// tree-sitter's default allocator an eighth of that time went to malloc,
// free and deleting each tree node by node. Here a
// whole parse (parser, lexer, stacks, tree) is carved out of a per-worker
// arena that is reset, not freed, for the next file.
//
// tree-sitter's allocator hooks are global and take no context, so the
// arena in use is thread-local: it is set only for the duration of one
// loom_parse_walk call, which runs on one OS thread, and every other
// thread (an editor's incremental parses, say) falls through to malloc.
#include <stdlib.h>
#include <string.h>
#include "walk.h"

#define ARENA_ALIGN 16u
#define ARENA_HEADER 16u // the block's size, kept for realloc
#define ARENA_CHUNK ((size_t)1 << 20)
#define ARENA_KEEP ((size_t)32 << 20) // chunks kept across resets
#define ARENA_CLASSES 64               // free lists for blocks up to 1 KiB

typedef struct arena_chunk {
	struct arena_chunk *next;
	char *base;
	size_t cap;
	size_t used;
} arena_chunk;

struct loom_arena {
	arena_chunk *first; // kept across resets
	arena_chunk *cur;
	size_t total;       // bytes handed out since the last reset
	size_t limit;       // past it, allocations go to malloc
	int spilled;        // some of this parse's memory came from malloc
	// Freed small blocks by size class (size/16 - 1), reused before
	// fresh memory: a parse frees most of what it allocates, and reusing
	// it keeps the working set small and in cache.
	void *free_lists[ARENA_CLASSES];
};

static __thread loom_arena *current;

static arena_chunk *chunk_new(size_t cap) {
	arena_chunk *c = malloc(sizeof(arena_chunk));
	if (c == NULL) {
		return NULL;
	}
	c->base = malloc(cap);
	if (c->base == NULL) {
		free(c);
		return NULL;
	}
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	return c;
}

loom_arena *loom_arena_new(size_t limit) {
	loom_arena *a = calloc(1, sizeof(loom_arena));
	if (a == NULL) {
		return NULL;
	}
	a->limit = limit;
	return a;
}

// arena_reset keeps the first chunks for the next file, up to ARENA_KEEP,
// and frees the rest, so one large file does not pin its memory for the
// rest of the build.
static void arena_reset(loom_arena *a) {
	size_t kept = 0;
	arena_chunk **link = &a->first;
	while (*link != NULL) {
		arena_chunk *c = *link;
		if (kept + c->cap <= ARENA_KEEP || c == a->first) {
			kept += c->cap;
			c->used = 0;
			link = &c->next;
			continue;
		}
		*link = c->next;
		free(c->base);
		free(c);
	}
	a->cur = a->first;
	a->total = 0;
	a->spilled = 0;
	memset(a->free_lists, 0, sizeof(a->free_lists));
}

void loom_arena_trim(loom_arena *a) {
	arena_chunk *c = a->first != NULL ? a->first->next : NULL;
	while (c != NULL) {
		arena_chunk *n = c->next;
		free(c->base);
		free(c);
		c = n;
	}
	if (a->first != NULL) {
		a->first->next = NULL;
	}
	arena_reset(a);
}

void loom_arena_free(loom_arena *a) {
	if (a == NULL) {
		return;
	}
	arena_chunk *c = a->first;
	while (c != NULL) {
		arena_chunk *n = c->next;
		free(c->base);
		free(c);
		c = n;
	}
	free(a);
}

static int arena_owns(const loom_arena *a, const void *p) {
	for (const arena_chunk *c = a->first; c != NULL; c = c->next) {
		if ((const char *)p >= c->base && (const char *)p < c->base + c->cap) {
			return 1;
		}
	}
	return 0;
}

static size_t round_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

// arena_alloc returns NULL once the arena's limit is reached; the caller
// then spills to malloc and the parse's objects must be freed one by one.
static void *arena_alloc(loom_arena *a, size_t size) {
	size_t rounded = round_up(size);
	if (rounded == 0) {
		rounded = ARENA_ALIGN;
	}
	size_t cls = rounded / ARENA_ALIGN - 1;
	if (cls < ARENA_CLASSES && a->free_lists[cls] != NULL) {
		void *p = a->free_lists[cls];
		a->free_lists[cls] = *(void **)p;
		*(size_t *)((char *)p - ARENA_HEADER) = size;
		return p;
	}
	size_t need = ARENA_HEADER + rounded;
	if (a->spilled || size > a->limit || a->total + need > a->limit) {
		a->spilled = 1;
		return NULL;
	}
	arena_chunk *c = a->cur;
	// Kept chunks are reused in order before new ones are made.
	while (c != NULL && c->used + need > c->cap && c->next != NULL) {
		c = c->next;
		a->cur = c;
	}
	if (c == NULL || c->used + need > c->cap) {
		size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		if (c != NULL && c->cap * 2 > cap) {
			cap = c->cap * 2; // fewer, larger chunks for large files
		}
		arena_chunk *n = chunk_new(cap);
		if (n == NULL) {
			a->spilled = 1;
			return NULL;
		}
		if (c == NULL) {
			a->first = n;
		} else {
			c->next = n;
		}
		a->cur = c = n;
	}
	char *p = c->base + c->used;
	c->used += need;
	a->total += need;
	*(size_t *)p = size;
	return p + ARENA_HEADER;
}

static void loom_free(void *p);

static void *loom_malloc(size_t size) {
	loom_arena *a = current;
	void *p = a != NULL ? arena_alloc(a, size) : NULL;
	return p != NULL ? p : malloc(size);
}

static void *loom_calloc(size_t n, size_t size) {
	loom_arena *a = current;
	if (a != NULL && (size == 0 || n <= ((size_t)-1) / size)) {
		void *p = arena_alloc(a, n * size);
		if (p != NULL) {
			memset(p, 0, n * size);
			return p;
		}
	}
	return calloc(n, size);
}

static void *loom_realloc(void *old, size_t size) {
	loom_arena *a = current;
	if (a == NULL || (old != NULL && !arena_owns(a, old))) {
		return realloc(old, size);
	}
	if (old == NULL) {
		return loom_malloc(size);
	}
	char *h = (char *)old - ARENA_HEADER;
	size_t have = *(size_t *)h;
	if (size <= have) {
		return old;
	}
	// Grow the last block in place when it ends at the chunk's end.
	arena_chunk *c = a->cur;
	size_t had = ARENA_HEADER + round_up(have);
	size_t grown = ARENA_HEADER + round_up(size);
	if (c != NULL && h + had == c->base + c->used && h + grown <= c->base + c->cap &&
	    a->total - had + grown <= a->limit) {
		c->used += grown - had;
		a->total += grown - had;
		*(size_t *)h = size;
		return old;
	}
	void *p = loom_malloc(size);
	if (p != NULL) {
		memcpy(p, old, have);
		loom_free(old);
	}
	return p;
}

static void loom_free(void *p) {
	loom_arena *a = current;
	if (p == NULL) {
		return;
	}
	if (a != NULL && arena_owns(a, p)) {
		size_t size = *(size_t *)((char *)p - ARENA_HEADER);
		size_t rounded = round_up(size);
		size_t cls = (rounded ? rounded : ARENA_ALIGN) / ARENA_ALIGN - 1;
		if (cls < ARENA_CLASSES) {
			*(void **)p = a->free_lists[cls];
			a->free_lists[cls] = p;
		}
		return; // larger blocks are reclaimed with the whole arena
	}
	free(p);
}

// Installed before main so no thread is using tree-sitter yet.
__attribute__((constructor)) static void install_allocator(void) {
	ts_set_allocator(loom_malloc, loom_calloc, loom_realloc, loom_free);
}

int loom_parse_walk(loom_arena *a, const TSLanguage *lang, const char *src, uint32_t len, uint64_t timeout_micros,
                    const uint8_t *want, const uint8_t *skip, uint32_t nwant, int prune, loom_walk_out *out) {
	out->recs = NULL;
	out->n = 0;
	out->visited = 0;
	out->oom = 0;
	arena_reset(a);
	current = a;
	int ok = 0;
	TSParser *p = ts_parser_new();
	TSTree *t = NULL;
	if (ts_parser_set_language(p, lang)) {
		ts_parser_set_timeout_micros(p, timeout_micros);
		t = ts_parser_parse_string(p, NULL, src, len);
		if (t != NULL) {
			loom_walk(t, want, skip, nwant, prune, out);
			ok = 1;
		}
	}
	if (a->spilled) {
		// Part of this parse lives on the heap: free it the usual way
		// (loom_free ignores the arena's part).
		ts_tree_delete(t);
		ts_parser_delete(p);
	} else {
		// Grammars with external scanners may keep state outside the
		// arena; dropping the language destroys it. The parser and the
		// tree go with the arena.
		ts_parser_set_language(p, NULL);
	}
	current = NULL;
	return ok;
}
