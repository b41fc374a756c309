package usage

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// record is one call's row, and what it adds to its subjects' counters.
type record struct {
	id, org, user, key           string
	model, upstream, endpoint    string
	stream                       bool
	at                           int64
	input, output, cached, total int64
	cost                         Money
	latency                      time.Duration
	status                       int
	errText                      string
	teams                        []string
	windows                      []window // counters that take the tokens and cost
}

// maxErrText bounds the error kept with a record.
const maxErrText = 500

// secretish finds what looks like a credential in an error text: provider
// keys (sk-…, sk-ant-…, AIza…), Loom's own tokens and bearer headers. The
// proxy never puts one there; this is the second lock.
var secretish = regexp.MustCompile(`(?i)(sk-[a-z0-9_\-]{8,}|AIza[0-9a-z_\-]{20,}|loom(cli|inv)?_[a-z0-9_\-]{8,}|bearer\s+\S+|(api[_-]?key|x-api-key|authorization)\s*[:=]\s*(bearer\s+)?\S+)`)

// cleanError keeps an error text short, valid and free of anything that
// looks like a credential.
func cleanError(s string) string {
	s = secretish.ReplaceAllString(s, "[redacted]")
	if len(s) > maxErrText {
		s = s[:maxErrText]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// Done records the call's use and frees its stream slots. It is called
// once; later calls do nothing.
func (t *ticket) Done(u Usage) {
	if !t.done.CompareAndSwap(false, true) {
		return
	}
	t.release()
	t.s.enqueue(t.record(u))
}

// release gives the call's stream slots back at once, not queued: the
// client's next stream must find its slot free.
func (t *ticket) release() {
	if len(t.leases) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := t.s.db.ExecContext(ctx, `DELETE FROM usage_leases WHERE id IN (`+t.s.placeholders(1, len(t.leases))+`)`, anySlice(t.leases)...)
	if err != nil {
		// The slot frees itself when its lease expires.
		t.s.log.Error("freeing a stream slot", "err", err)
	}
}

// newRecordID names a usage record: a UUIDv7, which starts with the time,
// so that a batch's rows go to the end of the primary key's index (and of
// usage_record_teams') instead of a random page each. On SQLite that made
// a batch's commit write a third as many pages.
func newRecordID() string { return uuid.Must(uuid.NewV7()).String() }

// record is the call's row, priced, with the counters it adds to.
func (t *ticket) record(u Usage) *record {
	s := t.s
	r := &record{
		id: newRecordID(), org: t.who.org, user: t.who.user, key: t.who.key,
		model: t.req.Model, upstream: t.req.Upstream, endpoint: t.req.Endpoint, stream: t.req.Stream,
		at:    t.at.UnixMicro(),
		input: clampTokens(u.InputTokens), output: clampTokens(u.OutputTokens), cached: clampTokens(u.CachedTokens),
		latency: u.Latency, status: u.Status, errText: cleanError(u.Err),
	}
	r.total = r.input + r.output + r.cached
	if pr, ok := s.prices.lookup(t.req.Model); ok {
		r.cost = pr.Cost(u)
	}
	for _, tm := range t.who.teams {
		r.teams = append(r.teams, tm.id)
	}
	minute, day, month := windows(s.now())
	for _, x := range t.subs {
		if x.lim.tpm > 0 {
			r.windows = append(r.windows, window{x.name, perMinute, minute.UnixMicro()})
		}
		if x.lim.daily > 0 {
			r.windows = append(r.windows, window{x.name, perDay, day.UnixMicro()})
		}
		if x.lim.monthly > 0 {
			r.windows = append(r.windows, window{x.name, perMonth, month.UnixMicro()})
		}
	}
	return r
}

// enqueue hands r to the writer, or writes it here when the queue is full
// or the writer has stopped: a record is never dropped to keep up.
func (s *Store) enqueue(r *record) {
	s.mu.RLock()
	if !s.closed {
		select {
		case s.queue <- item{rec: r}:
			s.mu.RUnlock()
			return
		default:
		}
	}
	s.mu.RUnlock()
	s.writeLogged([]*record{r})
}

// run is the writer: it writes whatever has queued as one batch, renews
// this replica's stream leases and prunes old counters.
func (s *Store) run() {
	defer close(s.done)
	renew := time.NewTicker(s.ttl / 3)
	defer renew.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case it := <-s.queue:
			s.batch(it)
		case <-renew.C:
			s.renew(context.Background())
		case <-prune.C:
			s.prune(context.Background())
		case <-s.stop:
			for {
				select {
				case it := <-s.queue:
					s.batch(it)
				default:
					return
				}
			}
		}
	}
}

// batch writes first and whatever else is queued, up to maxBatch, then
// answers the flushes among them.
func (s *Store) batch(first item) {
	var recs []*record
	var flushes []chan struct{}
	add := func(it item) {
		if it.rec != nil {
			recs = append(recs, it.rec)
		}
		if it.flush != nil {
			flushes = append(flushes, it.flush)
		}
	}
	add(first)
more:
	for len(recs) < maxBatch {
		select {
		case it := <-s.queue:
			add(it)
		default:
			break more
		}
	}
	if len(flushes) == 0 && len(recs) < maxBatch {
		// Nobody waits on this write: a moment for more records to join
		// it saves a transaction each.
		linger := time.NewTimer(batchLinger)
	wait:
		for len(recs) < maxBatch && len(flushes) == 0 {
			select {
			case it := <-s.queue:
				add(it)
			case <-linger.C:
				break wait
			case <-s.stop:
				break wait
			}
		}
		linger.Stop()
	}
	s.writeLogged(recs)
	for _, f := range flushes {
		close(f)
	}
}

// writeLogged writes recs, trying three times; records that still cannot
// be written are logged (counts only) and lost.
func (s *Store) writeLogged(recs []*record) {
	if len(recs) == 0 {
		return
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.db.Tx(ctx, func(tx *sql.Tx) error { return s.write(ctx, tx, recs) })
		cancel()
		if err == nil {
			return
		}
	}
	s.log.Error("writing usage records", "records", len(recs), "err", err)
}

// recordCols are the columns of usage_records, in the order write gives.
const recordCols = `id, at, org_id, user_id, key_id, model, upstream, endpoint, stream,
	input_tokens, output_tokens, cached_tokens, cost_micros, latency_us, status, error`

func (s *Store) write(ctx context.Context, tx *sql.Tx, recs []*record) error {
	args := make([]any, 0, 16*len(recs))
	var teamArgs []any
	sums := map[window][2]int64{}
	for _, r := range recs {
		stream := 0
		if r.stream {
			stream = 1
		}
		args = append(args, r.id, r.at, r.org, r.user, r.key, r.model, r.upstream, r.endpoint, stream,
			r.input, r.output, r.cached, int64(r.cost), r.latency.Microseconds(), r.status, r.errText)
		for _, tm := range r.teams {
			teamArgs = append(teamArgs, r.id, tm)
		}
		for _, w := range r.windows {
			v := sums[w]
			sums[w] = [2]int64{v[0] + r.total, v[1] + int64(r.cost)}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage_records (`+recordCols+`) VALUES `+s.values(len(recs), 16, ""), args...); err != nil {
		return fmt.Errorf("writing usage records: %w", err)
	}
	// In chunks: PostgreSQL takes at most 65535 parameters a statement.
	for chunk := range slices.Chunk(teamArgs, 2*1000) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO usage_record_teams (record_id, team_id) VALUES `+s.values(len(chunk)/2, 2, ""), chunk...); err != nil {
			return fmt.Errorf("writing usage records' teams: %w", err)
		}
	}
	if len(sums) == 0 {
		return nil
	}
	ws := make([]window, 0, len(sums))
	for w := range sums {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, compareWindows) // the order Admit locks rows in
	args = args[:0]
	for _, w := range ws {
		args = append(args, w.subject, w.period, w.start, sums[w][0], sums[w][1])
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_counters (subject, period, start, tokens, cost_micros)
		VALUES `+s.values(len(ws), 5, "")+`
		ON CONFLICT (subject, period, start) DO UPDATE SET
			tokens = usage_counters.tokens + excluded.tokens,
			cost_micros = usage_counters.cost_micros + excluded.cost_micros`, args...)
	if err != nil {
		return fmt.Errorf("adding usage to the counters: %w", err)
	}
	return nil
}

// renew extends this replica's stream leases.
func (s *Store) renew(ctx context.Context) {
	if _, err := s.db.ExecContext(ctx, `UPDATE usage_leases SET expires_at = $1 WHERE replica = $2`,
		s.now().Add(s.ttl).UnixMicro(), s.replica); err != nil {
		s.log.Error("renewing stream leases", "err", err)
	}
}

// prune deletes counters no limit reads any more, and expired leases.
func (s *Store) prune(ctx context.Context) {
	now := s.now()
	minute, day, month := windows(now)
	_, err := s.db.ExecContext(ctx, `DELETE FROM usage_counters
		WHERE (period = $1 AND start < $2) OR (period = $3 AND start < $4) OR (period = $5 AND start < $6)`,
		perMinute, minute.Add(-5*time.Minute).UnixMicro(),
		perDay, day.AddDate(0, 0, -7).UnixMicro(),
		perMonth, month.AddDate(0, -3, 0).UnixMicro())
	if err == nil {
		_, err = s.db.ExecContext(ctx, `DELETE FROM usage_leases WHERE expires_at < $1`, now.UnixMicro())
	}
	if err != nil {
		s.log.Error("pruning usage counters", "err", err)
	}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
