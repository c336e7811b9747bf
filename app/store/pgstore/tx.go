package pgstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"

	"hearth/app/store"
)

// Limits PostgreSQL imposes that bbolt does not: a btree entry must fit in
// a third of a page, and text holds valid UTF-8 without NUL. Hearth's ids
// (UUIDs, sequence numbers) and keys are far shorter.
const (
	maxIDLen  = 1024
	maxKeyLen = 2048
)

// Paging: Each and Scan read this many rows per query, then call fn with
// the connection free (fn may use the transaction).
const (
	eachPage = 128
	scanPage = 256
)

// flushAt bounds the write buffer: past this many buffered writes they are
// sent at once rather than at the next read or the commit.
const flushAt = 4096

// errReadOnly is returned by writes in a View.
var errReadOnly = errors.New("pgstore: write in a read-only transaction")

// tx adapts a PostgreSQL transaction to store.Tx. In a write transaction,
// record and index writes wait in recs and idx (last write per key wins)
// until flush sends them in one statement; counters read once are counted
// in seqs.
type tx struct {
	ctx      context.Context
	q        *dbx.Tx
	writable bool
	// err is the first database error: PostgreSQL has aborted the
	// transaction, so every later statement would fail too.
	err error

	recs map[recKey]recOp
	idx  map[idxKey]idxOp
	seqs map[string]*seqVal
}

type recKey struct{ bucket, id string }

type recOp struct {
	value []byte
	del   bool
}

type idxKey struct{ name, key string }

type idxOp struct {
	id  string
	del bool
}

type seqVal struct {
	n     uint64
	dirty bool // n is ahead of the table
}

var _ store.Tx = (*tx)(nil)

func newTx(ctx context.Context, q *dbx.Tx, writable bool) *tx {
	t := &tx{ctx: ctx, q: q, writable: writable}
	if writable {
		t.recs = map[recKey]recOp{}
		t.idx = map[idxKey]idxOp{}
		t.seqs = map[string]*seqVal{}
	}
	return t
}

func (t *tx) query(sql string, p dbx.Params) *dbx.Query {
	q := t.q.NewQuery(sql).WithContext(t.ctx)
	if p != nil {
		q.Bind(p)
	}
	return q
}

// fail records err as the transaction's database error and returns it.
func (t *tx) fail(err error) error {
	if t.err == nil {
		t.err = err
	}
	return err
}

// begin takes the write lock that makes the write transactions of every
// node serial, and makes the commit wait for the WAL flush whatever the
// server's default.
func (t *tx) begin() error {
	_, err := t.query(`SELECT pg_advisory_xact_lock({:key}), set_config('synchronous_commit', 'on', true)`,
		dbx.Params{"key": writeLockKey}).Execute()
	if err != nil {
		return t.fail(fmt.Errorf("pgstore: take the write lock: %w", err))
	}
	return nil
}

func checkName(op, name string) error {
	if !store.ValidName(name) {
		return fmt.Errorf("pgstore: %s %q: %w", op, name, store.ErrBadName)
	}
	return nil
}

// storableID reports whether id can be stored in a text column.
func storableID(id string) bool {
	return id != "" && len(id) <= maxIDLen && utf8.ValidString(id) && strings.IndexByte(id, 0) < 0
}

func checkID(op, name, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("pgstore: %s %s: empty id", op, name)
	case len(id) > maxIDLen:
		return fmt.Errorf("pgstore: %s %s: id is %d bytes, longer than %d", op, name, len(id), maxIDLen)
	case !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0:
		return fmt.Errorf("pgstore: %s %s: id %q is not NUL-free UTF-8", op, name, id)
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

func (t *tx) Get(bucket, id string) ([]byte, error) {
	if err := checkName("get", bucket); err != nil {
		return nil, err
	}
	if op, ok := t.recs[recKey{bucket, id}]; ok {
		if op.del {
			return nil, fmt.Errorf("pgstore: get %s %q: %w", bucket, id, store.ErrNotFound)
		}
		return clone(op.value), nil
	}
	if !storableID(id) {
		return nil, fmt.Errorf("pgstore: get %s %q: %w", bucket, id, store.ErrNotFound)
	}
	if t.err != nil {
		return nil, t.err
	}
	var v []byte
	err := t.query(`SELECT value FROM hearth_records WHERE bucket = {:bucket} AND id = {:id}`,
		dbx.Params{"bucket": bucket, "id": id}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get %s %q: %w", bucket, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: get %s: %w", bucket, err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// GetMany answers what it can from the write buffer, as Get does, and
// reads the other ids in one query.
func (t *tx) GetMany(bucket string, ids []string) ([][]byte, error) {
	if err := checkName("get many", bucket); err != nil {
		return nil, err
	}
	out := make([][]byte, len(ids))
	var ask []string // ids the buffer does not answer and that can be stored
	for i, id := range ids {
		if op, ok := t.recs[recKey{bucket, id}]; ok {
			if !op.del {
				out[i] = clone(op.value)
			}
		} else if storableID(id) {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	if t.err != nil {
		return nil, t.err
	}
	rows, err := t.query(`SELECT id, value FROM hearth_records WHERE bucket = {:bucket} AND id = ANY({:ids}::text[])`,
		dbx.Params{"bucket": bucket, "ids": ask}).Rows()
	if err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: get many %s: %w", bucket, err))
	}
	found := make(map[string][]byte, len(ask))
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.id, &r.value); err != nil {
			return nil, t.fail(errors.Join(fmt.Errorf("pgstore: get many %s: %w", bucket, err), rows.Close()))
		}
		found[r.id] = r.value
	}
	if err := rows.Close(); err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: get many %s: %w", bucket, err))
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: get many %s: %w", bucket, err))
	}
	for i, id := range ids {
		// found holds no buffered id: those were not asked for. clone
		// gives every value its own copy (an id may repeat) and makes an
		// empty value a non-nil empty slice.
		if v, ok := found[id]; ok {
			out[i] = clone(v)
		}
	}
	return out, nil
}

func (t *tx) Put(bucket, id string, value []byte) error {
	if err := checkName("put", bucket); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	if err := checkID("put", bucket, id); err != nil {
		return err
	}
	t.recs[recKey{bucket, id}] = recOp{value: clone(value)}
	return t.maybeFlush()
}

func (t *tx) Delete(bucket, id string) error {
	if err := checkName("delete", bucket); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	if !storableID(id) {
		return nil // it cannot be there
	}
	t.recs[recKey{bucket, id}] = recOp{del: true}
	return t.maybeFlush()
}

type record struct {
	id    string
	value []byte
}

func (t *tx) Each(bucket, after string, fn func(id string, value []byte) error) error {
	if err := checkName("each", bucket); err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if !utf8.ValidString(after) || strings.IndexByte(after, 0) >= 0 {
		// No stored id can equal after. The ids above it are all at or
		// above its longest storable prefix: start there, skip the rest.
		return t.eachPages(bucket, validPrefix(after), after, fn)
	}
	return t.eachPages(bucket, after, "", fn)
}

// validPrefix returns the longest prefix of s that is NUL-free UTF-8.
func validPrefix(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || r == utf8.RuneError && size <= 1 {
			return s[:i]
		}
		i += size
	}
	return s
}

// eachPages visits the records of bucket with ids above after, a page at
// a time. If skipTo is set, the walk starts at after itself and skips ids
// up to skipTo.
func (t *tx) eachPages(bucket, after, skipTo string, fn func(id string, value []byte) error) error {
	cmp := ">"
	if skipTo != "" {
		cmp = ">="
	}
	for {
		if t.err != nil {
			return t.err
		}
		rows, err := t.query(`SELECT id, value FROM hearth_records WHERE bucket = {:bucket} AND id `+cmp+` {:after}
			ORDER BY id LIMIT {:limit}`,
			dbx.Params{"bucket": bucket, "after": after, "limit": eachPage}).Rows()
		if err != nil {
			return t.fail(fmt.Errorf("pgstore: each %s: %w", bucket, err))
		}
		page := make([]record, 0, eachPage)
		for rows.Next() {
			var r record
			if err := rows.Scan(&r.id, &r.value); err != nil {
				return t.fail(errors.Join(fmt.Errorf("pgstore: each %s: %w", bucket, err), rows.Close()))
			}
			if r.value == nil {
				r.value = []byte{}
			}
			page = append(page, r)
		}
		if err := rows.Close(); err != nil {
			return t.fail(fmt.Errorf("pgstore: each %s: %w", bucket, err))
		}
		if err := rows.Err(); err != nil {
			return t.fail(fmt.Errorf("pgstore: each %s: %w", bucket, err))
		}
		for _, r := range page {
			if skipTo != "" && r.id <= skipTo {
				continue
			}
			if err := fn(r.id, r.value); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < eachPage {
			return nil
		}
		after, cmp = page[len(page)-1].id, ">"
	}
}

func (t *tx) Count(bucket string) (int, error) {
	if err := checkName("count", bucket); err != nil {
		return 0, err
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	var n int64
	if err := t.query(`SELECT count(*) FROM hearth_records WHERE bucket = {:bucket}`,
		dbx.Params{"bucket": bucket}).Row(&n); err != nil {
		return 0, t.fail(fmt.Errorf("pgstore: count %s: %w", bucket, err))
	}
	return int(n), nil
}

func (t *tx) SetIndex(index string, key []byte, id string) error {
	if err := checkName("set index", index); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	if len(key) == 0 {
		return fmt.Errorf("pgstore: set index %s: empty key", index)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("pgstore: set index %s: key is %d bytes, longer than %d", index, len(key), maxKeyLen)
	}
	if err := checkID("set index", index, id); err != nil {
		return err
	}
	t.idx[idxKey{index, string(key)}] = idxOp{id: id}
	return t.maybeFlush()
}

func (t *tx) DeleteIndex(index string, key []byte) error {
	if err := checkName("delete index", index); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	if len(key) == 0 || len(key) > maxKeyLen {
		return nil // it cannot be there
	}
	t.idx[idxKey{index, string(key)}] = idxOp{del: true}
	return t.maybeFlush()
}

func (t *tx) Lookup(index string, key []byte) (string, error) {
	if err := checkName("lookup", index); err != nil {
		return "", err
	}
	if op, ok := t.idx[idxKey{index, string(key)}]; ok {
		if op.del {
			return "", fmt.Errorf("pgstore: lookup %s: %w", index, store.ErrNotFound)
		}
		return op.id, nil
	}
	if len(key) == 0 || len(key) > maxKeyLen {
		return "", fmt.Errorf("pgstore: lookup %s: %w", index, store.ErrNotFound)
	}
	if t.err != nil {
		return "", t.err
	}
	var id string
	err := t.query(`SELECT id FROM hearth_index WHERE name = {:name} AND key = {:key}`,
		dbx.Params{"name": index, "key": key}).Row(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("pgstore: lookup %s: %w", index, store.ErrNotFound)
	}
	if err != nil {
		return "", t.fail(fmt.Errorf("pgstore: lookup %s: %w", index, err))
	}
	return id, nil
}

type indexEntry struct {
	key []byte
	id  string
}

func (t *tx) Scan(index string, r store.Range, fn func(key []byte, id string) error) error {
	if err := checkName("scan", index); err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	// The walk is between a lower bound lo (inclusive unless loOpen) and
	// an exclusive upper bound hi; nil means unbounded. Every key between
	// Prefix and store.PrefixEnd(Prefix) starts with Prefix.
	var lo, hi []byte
	loOpen := false
	if !r.Reverse {
		lo, hi = r.Prefix, store.PrefixEnd(r.Prefix)
		if len(r.After) > 0 && bytes.Compare(r.After, lo) >= 0 {
			lo, loOpen = r.After, true
		}
	} else {
		lo, hi = r.Prefix, store.PrefixEnd(r.Prefix)
		if len(r.After) > 0 && (hi == nil || bytes.Compare(r.After, hi) < 0) {
			hi = r.After
		}
	}
	n := 0
	for {
		size := scanPage
		if r.Limit > 0 {
			size = min(size, r.Limit-n)
		}
		page, err := t.scanPage(index, lo, loOpen, hi, r.Reverse, size)
		if err != nil {
			return err
		}
		for _, e := range page {
			n++
			if err := fn(e.key, e.id); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < size || r.Limit > 0 && n >= r.Limit {
			return nil
		}
		last := page[len(page)-1].key
		if r.Reverse {
			hi = last
		} else {
			lo, loOpen = last, true
		}
	}
}

// scanPage reads up to limit entries of index between the bounds. Its SQL
// is put together from constant fragments only; the bounds are parameters.
func (t *tx) scanPage(index string, lo []byte, loOpen bool, hi []byte, reverse bool, limit int) ([]indexEntry, error) {
	if t.err != nil {
		return nil, t.err
	}
	var q strings.Builder
	q.WriteString(`SELECT key, id FROM hearth_index WHERE name = {:name}`)
	if len(lo) > 0 {
		if loOpen {
			q.WriteString(` AND key > {:lo}`)
		} else {
			q.WriteString(` AND key >= {:lo}`)
		}
	}
	if hi != nil {
		q.WriteString(` AND key < {:hi}`)
	}
	if reverse {
		q.WriteString(` ORDER BY key DESC`)
	} else {
		q.WriteString(` ORDER BY key`)
	}
	q.WriteString(` LIMIT {:limit}`)
	rows, err := t.query(q.String(), dbx.Params{"name": index, "lo": lo, "hi": hi, "limit": limit}).Rows()
	if err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: scan %s: %w", index, err))
	}
	page := make([]indexEntry, 0, min(limit, scanPage))
	for rows.Next() {
		var e indexEntry
		if err := rows.Scan(&e.key, &e.id); err != nil {
			return nil, t.fail(errors.Join(fmt.Errorf("pgstore: scan %s: %w", index, err), rows.Close()))
		}
		page = append(page, e)
	}
	if err := rows.Close(); err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: scan %s: %w", index, err))
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(fmt.Errorf("pgstore: scan %s: %w", index, err))
	}
	return page, nil
}

func (t *tx) NextSeq(name string) (uint64, error) {
	if err := checkName("next seq", name); err != nil {
		return 0, err
	}
	if !t.writable {
		return 0, errReadOnly
	}
	if sv, ok := t.seqs[name]; ok {
		if sv.n >= math.MaxInt64 {
			return 0, fmt.Errorf("pgstore: next seq %s: the counter is exhausted", name)
		}
		sv.n++
		sv.dirty = true
		return sv.n, nil
	}
	if t.err != nil {
		return 0, t.err
	}
	var n int64
	err := t.query(`INSERT INTO hearth_seq (name, value) VALUES ({:name}, 1)
		ON CONFLICT (name) DO UPDATE SET value = hearth_seq.value + 1 RETURNING value`,
		dbx.Params{"name": name}).Row(&n)
	if err != nil {
		return 0, t.fail(fmt.Errorf("pgstore: next seq %s: %w", name, err))
	}
	t.seqs[name] = &seqVal{n: uint64(n)}
	return uint64(n), nil
}

func (t *tx) maybeFlush() error {
	if len(t.recs)+len(t.idx) >= flushAt {
		return t.flush()
	}
	return nil
}

// flushSQL applies the buffered writes in one statement. Its parts touch
// disjoint rows (a key is either deleted or written, never both), so
// running them against one snapshot, as PostgreSQL runs the parts of a
// statement, is the same as running them one after another.
const flushSQL = `WITH
rec_del AS (
	DELETE FROM hearth_records r USING unnest({:rd_bucket}::text[], {:rd_id}::text[]) AS d(bucket, id)
	WHERE r.bucket = d.bucket AND r.id = d.id),
rec_put AS (
	INSERT INTO hearth_records (bucket, id, value)
	SELECT * FROM unnest({:rp_bucket}::text[], {:rp_id}::text[], {:rp_value}::bytea[])
	ON CONFLICT (bucket, id) DO UPDATE SET value = excluded.value),
idx_del AS (
	DELETE FROM hearth_index x USING unnest({:xd_name}::text[], {:xd_key}::bytea[]) AS d(name, key)
	WHERE x.name = d.name AND x.key = d.key),
idx_put AS (
	INSERT INTO hearth_index (name, key, id)
	SELECT * FROM unnest({:xp_name}::text[], {:xp_key}::bytea[], {:xp_id}::text[])
	ON CONFLICT (name, key) DO UPDATE SET id = excluded.id),
seq_set AS (
	UPDATE hearth_seq s SET value = u.value FROM unnest({:sq_name}::text[], {:sq_value}::bigint[]) AS u(name, value)
	WHERE s.name = u.name)
SELECT 1`

// flush sends the buffered writes and counters to PostgreSQL.
func (t *tx) flush() error {
	if t.err != nil {
		return t.err
	}
	if !t.writable {
		return nil
	}
	var sqName []string
	var sqValue []int64
	for name, sv := range t.seqs {
		if sv.dirty {
			sqName = append(sqName, name)
			sqValue = append(sqValue, int64(sv.n))
		}
	}
	if len(t.recs) == 0 && len(t.idx) == 0 && len(sqName) == 0 {
		return nil
	}
	rdBucket, rdID := []string{}, []string{}
	rpBucket, rpID, rpValue := []string{}, []string{}, [][]byte{}
	for k, op := range t.recs {
		if op.del {
			rdBucket, rdID = append(rdBucket, k.bucket), append(rdID, k.id)
		} else {
			rpBucket, rpID, rpValue = append(rpBucket, k.bucket), append(rpID, k.id), append(rpValue, op.value)
		}
	}
	xdName, xdKey := []string{}, [][]byte{}
	xpName, xpKey, xpID := []string{}, [][]byte{}, []string{}
	for k, op := range t.idx {
		if op.del {
			xdName, xdKey = append(xdName, k.name), append(xdKey, []byte(k.key))
		} else {
			xpName, xpKey, xpID = append(xpName, k.name), append(xpKey, []byte(k.key)), append(xpID, op.id)
		}
	}
	if sqName == nil {
		sqName, sqValue = []string{}, []int64{}
	}
	_, err := t.query(flushSQL, dbx.Params{
		"rd_bucket": rdBucket, "rd_id": rdID,
		"rp_bucket": rpBucket, "rp_id": rpID, "rp_value": rpValue,
		"xd_name": xdName, "xd_key": xdKey,
		"xp_name": xpName, "xp_key": xpKey, "xp_id": xpID,
		"sq_name": sqName, "sq_value": sqValue,
	}).Execute()
	if err != nil {
		return t.fail(fmt.Errorf("pgstore: write: %w", err))
	}
	clear(t.recs)
	clear(t.idx)
	for _, sv := range t.seqs {
		sv.dirty = false
	}
	return nil
}
