package thread

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
)

// BenchmarkStore builds, once, a database of 4,000 threads holding 100,000
// messages of Zipf-distributed words (instructions, answers with tool
// calls, tool results of file-like lines), then times searches and
// appends on it. Run: go test -run '^$' -bench Store ./thread/
// Besides ns/op it reports the median, the figure the budgets are set
// for: a search under 10 ms, an append under 2 ms.
func BenchmarkStore(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "threads.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	threadID := buildFixture(b, s, 4000, 12)
	var n int
	s.db.QueryRow(`SELECT count(*) FROM messages`).Scan(&n)
	b.Logf("fixture: %d messages in %v", n, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()

	for _, q := range []struct{ name, query string }{
		{"rare word", "tokenizer"},
		{"mid word", "buffer"},
		{"common word", "the"},
		{"two words", "parse error"},
		{"prefix", "conf*"},
		{"phrase", `"cache miss"`},
		{"malformed", `"unbalanced (query`},
	} {
		b.Run("search/"+q.name, func(b *testing.B) {
			var times []time.Duration
			hits := 0
			for b.Loop() {
				t0 := time.Now()
				h, err := s.Search(ctx, q.query, Filter{Limit: 20})
				times = append(times, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				hits = len(h)
			}
			reportMedian(b, times)
			b.ReportMetric(float64(hits), "hits")
		})
	}
	b.Run("append turn", func(b *testing.B) {
		r := rand.New(rand.NewPCG(7, 7))
		turn := toolTurn(sentence(r, 30), "call", "read_file", `{"path":"internal/parse/lexer.go"}`, fileText(r, 40))
		var times []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := s.AppendTurn(ctx, threadID, turn); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		reportMedian(b, times)
	})
}

func reportMedian(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms/median")
}

// words is a vocabulary of code and prose words; zipf picks from it the
// way real text does (a few words very often, most rarely).
var words = strings.Fields(`the a to of and in is for it that this with on be as we error file func
return if not at by are from the value test parse string buffer config read write path line call
tool result change fix add remove update build run check type struct field method package import
cache miss hit server client request response handler context cancel timeout retry stream token
tokenizer lexer parser node tree walk visit index search query match rank score snippet table
column row insert delete select commit rollback lock busy wait signal process thread message turn
diff patch hunk apply workspace root folder symlink resolve overlay buffer editor cursor range
position encoding utf8 utf16 offset length slice map channel goroutine mutex atomic pointer
interface embed generic constraint closure defer panic recover log debug info warn level format
print scan flag option usage help command argument env variable default config load save open
close sync flush fsync rename temp atomic conflict hash base version schema migrate upgrade`)

func sentence(r *rand.Rand, n int) string {
	z := rand.NewZipf(r, 1.1, 2, uint64(len(words)-1))
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[z.Uint64()])
		// Rare made-up identifiers, as real code is full of them.
		if r.IntN(12) == 0 {
			fmt.Fprintf(&b, " %s%d", words[r.IntN(len(words))], r.IntN(5000))
		}
	}
	return b.String()
}

// fileText is lines of code-like text, as a read_file result.
func fileText(r *rand.Rand, lines int) string {
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "%4d\t%s\n", i+1, sentence(r, 4+r.IntN(8)))
	}
	return b.String()
}

// buildFixture writes threads of one instruction and toolTurns tool
// turns each (1 + 2*toolTurns messages) in one transaction, and returns
// the last thread's ID.
func buildFixture(b testing.TB, s *Store, threads, toolTurns int) string {
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	var last string
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := time.Now().Add(-time.Duration(threads) * time.Minute)
		for i := range threads {
			id := fmt.Sprintf("%07d%03d", i, 0)
			title := TitleFrom(sentence(r, 8))
			res, err := tx.ExecContext(ctx, `INSERT INTO threads (id, created, updated, workspace, title, model, status)
				VALUES (?, ?, ?, ?, ?, 'qwen3-coder', 'done')`, id, now.UnixMilli(), now.UnixMilli(), fmt.Sprintf("/src/project%d", i%20), title)
			if err != nil {
				return err
			}
			rid, _ := res.LastInsertId()
			seq, err := insertTurn(ctx, tx, rid, 0, 0, now.UnixMilli(), Turn{Messages: []llm.Message{{Role: llm.RoleUser, Content: title + ". " + sentence(r, 20)}}})
			if err != nil {
				return err
			}
			for n := 1; n <= toolTurns; n++ {
				t := toolTurn(sentence(r, 5+r.IntN(30)), fmt.Sprintf("call_%d", n), words[r.IntN(len(words))]+"_file",
					`{"path":"pkg/`+words[r.IntN(len(words))]+`.go"}`, fileText(r, 3+r.IntN(12)))
				if seq, err = insertTurn(ctx, tx, rid, n, seq, now.UnixMilli(), t); err != nil {
					return err
				}
			}
			now = now.Add(time.Minute)
			last = id
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return last
}
