package thread

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Hit is one thread found by Search, with its best-matching passage.
type Hit struct {
	Thread Thread `json:"thread"`
	// Snippet is the passage that matched best, on one line, the matched
	// terms marked «like this».
	Snippet string `json:"snippet"`
	// Role is "title" for a title match, else the role of the message
	// that matched.
	Role string `json:"role"`
	// Seq is the matching message's position in the thread (counting
	// from 0 over all turns' messages), -1 for a title match.
	Seq int `json:"seq"`
	// Score is the BM25 relevance: higher is better.
	Score float64 `json:"score"`
}

// Snippet markers.
const (
	MarkOpen  = "«"
	MarkClose = "»"
)

// MaxQueryLen bounds a search query, in bytes.
const MaxQueryLen = 1000

// ErrBadQuery is returned (wrapped) for a query that cannot be searched
// at all: empty, without a word, or too long.
var ErrBadQuery = errors.New("bad search query")

// Search finds the threads whose title, messages or tool names match
// query, best first (BM25; a title match weighs most), one hit per thread.
// For speed it ranks only the newest 1,000 matching messages and 200
// matching titles that pass the filter (see maxMessageHits).
//
// The query is FTS5 syntax: words (all must match), "exact phrases",
// prefix*, OR, NOT, NEAR(a b), column filters (title:, body:, tools:).
// A query that is not valid FTS5 syntax is searched as plain words
// instead (see plainQuery). The expression is matched against each title
// and message on its own: "a NOT b" finds a thread with a message holding
// a but not b, even if another of its messages holds b.
func (s *Store) Search(ctx context.Context, query string, f Filter) ([]Hit, error) {
	q := cleanQuery(query)
	switch {
	case len(q) > MaxQueryLen:
		return nil, fmt.Errorf("%w: %d bytes long, at most %d", ErrBadQuery, len(q), MaxQueryLen)
	case strings.TrimSpace(q) == "":
		return nil, fmt.Errorf("%w: the query is empty", ErrBadQuery)
	}
	hits, err := s.search(ctx, q, f)
	if err == nil || !isQueryError(err) {
		return hits, wrapSearchErr(err)
	}
	plain := plainQuery(q)
	if plain == "" {
		return nil, fmt.Errorf("%w: %q has no words to search for", ErrBadQuery, query)
	}
	hits, err = s.search(ctx, plain, f)
	return hits, wrapSearchErr(err)
}

func wrapSearchErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("searching threads: %w", err)
}

// cleanQuery drops what SQLite cannot take in a query string: invalid
// UTF-8, and control characters such as NUL (they end C strings).
func cleanQuery(q string) string {
	q = strings.ToValidUTF8(q, " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, q)
}

// isQueryError reports an error SQLite gives for the MATCH expression
// itself (syntax, unknown column, ...), as opposed to I/O or locking.
func isQueryError(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_ERROR
}

// plainQuery rewrites q as plain words. It splits q at spaces and at the
// characters of FTS5 syntax, makes each piece a quoted phrase (FTS5 splits
// "foo.go" or "a-b" into words and finds them together), keeps a trailing
// * as a prefix search and drops pieces without a letter or digit. The
// operator keywords are dropped too, as the user meant them as operators,
// unless nothing else is left.
func plainQuery(q string) string {
	var parts, operators []string
	for _, f := range strings.FieldsFunc(q, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"(){}[]:^+,`, r)
	}) {
		word := strings.TrimRight(f, "*")
		if !strings.ContainsFunc(word, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue
		}
		p := `"` + strings.ReplaceAll(word, "*", " ") + `"`
		if len(word) < len(f) {
			p += "*"
		}
		switch word {
		case "AND", "OR", "NOT", "NEAR":
			operators = append(operators, p)
		default:
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		parts = operators
	}
	return strings.Join(parts, " ")
}

// Candidate caps: BM25 costs a few microseconds a row in this pure-Go
// SQLite, so ranking every match of a common word in 100,000 messages
// would take far beyond the 10 ms a search may take. Search ranks the
// newest maxMessageHits matching messages and maxTitleHits matching
// titles (after the filter); the scores still use the whole index's
// statistics. A word in more messages than that is not telling threads
// apart anyway.
const (
	maxMessageHits = 1000
	maxTitleHits   = 200
)

// rankExpr is BM25 with a title match weighing five times a body match, a
// tool name twice.
const rankExpr = `bm25(search, 5.0, 1.0, 2.0, 0.0)`

// titleRankExpr ranks a title match, in the titles index.
const titleRankExpr = `bm25(titles, 5.0, 1.0, 2.0, 0.0)`

// search runs a MATCH expression. It ranks the candidates, keeps each
// thread's best, and makes snippets only for the hits returned, since a
// snippet costs far more than a rank.
func (s *Store) search(ctx context.Context, match string, f Filter) ([]Hit, error) {
	var hits []Hit
	err := s.read(ctx, func(tx *sql.Tx) error {
		where, fargs := f.where()
		// The candidates need threads only to filter.
		msgJoin, titleJoin := "", ""
		if len(fargs) > 0 {
			msgJoin, titleJoin = " JOIN threads t ON t.rid = m.thread_rid", " JOIN threads t ON t.rid = titles.rowid"
		}
		// Both candidate queries walk their index in rowid order and stop
		// at their cap, newest first: messages in search (rowid > 0; its
		// title rows are left out), titles in titles, given hit -rid as
		// search numbers them. min(score) with bare columns: SQLite takes
		// hit from the row holding each thread's minimum.
		q := `WITH cand AS (
				SELECT * FROM (SELECT search.rowid AS hit, m.thread_rid AS trid, ` + rankExpr + ` AS score
					FROM search JOIN messages m ON m.id = search.rowid` + msgJoin + `
					WHERE search MATCH ? AND search.rowid > 0 AND ` + where + ` ORDER BY search.rowid DESC LIMIT ` + fmt.Sprint(maxMessageHits) + `)
				UNION ALL
				SELECT * FROM (SELECT -titles.rowid, titles.rowid, ` + titleRankExpr + `
					FROM titles` + titleJoin + `
					WHERE titles MATCH ? AND ` + where + ` ORDER BY titles.rowid DESC LIMIT ` + fmt.Sprint(maxTitleHits) + `)),
			best AS (SELECT trid, hit, min(score) AS score FROM cand GROUP BY trid)
			SELECT best.hit, best.score, t.rid, t.id, t.created, t.updated, t.workspace, t.title, t.model, t.status,
				t.error, t.diff, t.prompt_tokens, t.completion_tokens,
				(SELECT count(*) FROM turns WHERE thread_rid = t.rid), t.changes != '',
				` + strings.ReplaceAll(modelTurns, "= rid", "= t.rid") + `
			FROM best JOIN threads t ON t.rid = best.trid
			ORDER BY best.score, t.updated DESC LIMIT ?`
		args := append([]any{match}, fargs...)
		args = append(append(append(args, match), fargs...), f.limit())
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		var rowids []int64
		for rows.Next() {
			var h Hit
			var rowid int64
			var rank float64
			t, _, err := scanThread(prefixScanner{rows, []any{&rowid, &rank}})
			if err != nil {
				rows.Close()
				return err
			}
			h.Thread, h.Score = *t, -rank
			hits = append(hits, h)
			rowids = append(rowids, rowid)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return describeHits(ctx, tx, match, rowids, hits)
	})
	return hits, err
}

// describeHits fills in the snippets and matching messages of hits, whose
// index rows are rowids (a title's is -thread rid). One pass per index
// over the matches between the oldest and the newest hit makes every
// snippet: a lookup per hit would redo the MATCH's setup for each, and
// FTS5 reaches a rowid by stepping through each term's list from its
// start. The pass runs newest first, from the end of the lists, where the
// candidates are; without a filter it reads at most the candidates.
func describeHits(ctx context.Context, tx *sql.Tx, match string, rowids []int64, hits []Hit) error {
	if len(rowids) == 0 {
		return nil
	}
	index := map[int64]int{}
	var titleIDs, msgIDs []int64
	for i, r := range rowids {
		index[r] = i
		if r < 0 {
			titleIDs = append(titleIDs, -r)
			hits[i].Role, hits[i].Seq = "title", -1
		} else {
			msgIDs = append(msgIDs, r)
		}
	}
	// The unary + keeps SQLite from handing the IN list to FTS5 as rowid
	// lookups.
	snippets := func(table string, ids []int64, sign int64) error {
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT rowid, snippet(`+table+`, -1, ?, ?, '…', 16) FROM `+table+`
			WHERE `+table+` MATCH ? AND rowid >= ? AND rowid <= ? AND +rowid IN (SELECT value FROM json_each(?))
			ORDER BY rowid DESC`, MarkOpen, MarkClose, match, slices.Min(ids), slices.Max(ids), jsonInts(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var rowid int64
			var snip string
			if err := rows.Scan(&rowid, &snip); err != nil {
				return err
			}
			if i, ok := index[sign*rowid]; ok {
				hits[i].Snippet = strings.Join(strings.Fields(snip), " ")
			}
		}
		return rows.Err()
	}
	if err := snippets("titles", titleIDs, -1); err != nil {
		return err
	}
	if err := snippets("search", msgIDs, 1); err != nil {
		return err
	}
	if len(msgIDs) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, role, seq FROM messages WHERE id IN (SELECT value FROM json_each(?))`, jsonInts(msgIDs))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var role string
		var seq int
		if err := rows.Scan(&id, &role, &seq); err != nil {
			return err
		}
		if i, ok := index[id]; ok {
			hits[i].Role, hits[i].Seq = role, seq
		}
	}
	return rows.Err()
}

// jsonInts formats ids as a JSON array, for json_each.
func jsonInts(ids []int64) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// prefixScanner scans the first columns of a row into extra, the rest
// into what Scan is given.
type prefixScanner struct {
	rows  *sql.Rows
	extra []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.rows.Scan(append(p.extra, dest...)...) }
