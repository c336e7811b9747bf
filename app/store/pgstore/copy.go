package pgstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/pocketbase/dbx"

	"hearth/app/store"
)

// exportPage is how many rows Export reads per query: it walks each table
// by keyset pagination, so memory stays bounded however large the database.
const exportPage = 512

// Export visits every record, index entry and counter of one REPEATABLE
// READ snapshot, ordered by kind, name and key (byte order, as bbolt keeps
// them). Returning store.ErrStop from fn ends it cleanly.
func (s *Store) Export(ctx context.Context, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("pgstore: export: %w", err)
	}
	defer func() { _ = q.Rollback() }()
	t := newTx(ctx, q, false)
	for _, part := range []func(func(store.Entry) error) error{t.exportRecords, t.exportIndex, t.exportSeqs} {
		if err := part(fn); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) exportRecords(fn func(store.Entry) error) error {
	bucket, id := "", ""
	for {
		rows, err := t.query(`SELECT bucket, id, value FROM hearth_records WHERE (bucket, id) > ({:bucket}, {:id})
			ORDER BY bucket, id LIMIT {:limit}`, dbx.Params{"bucket": bucket, "id": id, "limit": exportPage}).Rows()
		if err != nil {
			return fmt.Errorf("pgstore: export records: %w", err)
		}
		var page []store.Entry
		for rows.Next() {
			var e store.Entry
			var rid string
			if err := rows.Scan(&e.Name, &rid, &e.Value); err != nil {
				return errors.Join(fmt.Errorf("pgstore: export records: %w", err), rows.Close())
			}
			e.Kind, e.Key = store.KindRecord, []byte(rid)
			if e.Value == nil {
				e.Value = []byte{}
			}
			page = append(page, e)
		}
		if err := closeRows(rows); err != nil {
			return fmt.Errorf("pgstore: export records: %w", err)
		}
		if err := visit(t.ctx, page, fn); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		bucket, id = page[len(page)-1].Name, string(page[len(page)-1].Key)
	}
}

func (t *tx) exportIndex(fn func(store.Entry) error) error {
	name, key := "", []byte{}
	for {
		rows, err := t.query(`SELECT name, key, id FROM hearth_index WHERE (name, key) > ({:name}, {:key})
			ORDER BY name, key LIMIT {:limit}`, dbx.Params{"name": name, "key": key, "limit": exportPage}).Rows()
		if err != nil {
			return fmt.Errorf("pgstore: export index: %w", err)
		}
		var page []store.Entry
		for rows.Next() {
			var e store.Entry
			var id string
			if err := rows.Scan(&e.Name, &e.Key, &id); err != nil {
				return errors.Join(fmt.Errorf("pgstore: export index: %w", err), rows.Close())
			}
			e.Kind, e.Value = store.KindIndex, []byte(id)
			page = append(page, e)
		}
		if err := closeRows(rows); err != nil {
			return fmt.Errorf("pgstore: export index: %w", err)
		}
		if err := visit(t.ctx, page, fn); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		name, key = page[len(page)-1].Name, page[len(page)-1].Key
	}
}

func (t *tx) exportSeqs(fn func(store.Entry) error) error {
	name := ""
	for {
		rows, err := t.query(`SELECT name, value FROM hearth_seq WHERE name > {:name} ORDER BY name LIMIT {:limit}`,
			dbx.Params{"name": name, "limit": exportPage}).Rows()
		if err != nil {
			return fmt.Errorf("pgstore: export counters: %w", err)
		}
		var page []store.Entry
		for rows.Next() {
			var e store.Entry
			var v int64
			if err := rows.Scan(&e.Name, &v); err != nil {
				return errors.Join(fmt.Errorf("pgstore: export counters: %w", err), rows.Close())
			}
			if v < 0 {
				return errors.Join(fmt.Errorf("pgstore: export counter %s: %w (value %d)", e.Name, store.ErrCorrupt, v), rows.Close())
			}
			e.Kind, e.Value = store.KindSeq, binary.BigEndian.AppendUint64(nil, uint64(v))
			page = append(page, e)
		}
		if err := closeRows(rows); err != nil {
			return fmt.Errorf("pgstore: export counters: %w", err)
		}
		if err := visit(t.ctx, page, fn); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		name = page[len(page)-1].Name
	}
}

func closeRows(rows *dbx.Rows) error {
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

func visit(ctx context.Context, page []store.Entry, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range page {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Import writes entries durably in one transaction (store.ImportEntries):
// records and index entries replace what is there, and counters only move
// forwards (GREATEST of the stored and the imported value), so importing
// the same entries twice changes nothing the second time. Records and index
// entries are buffered like Put and SetIndex (flushed in bulk); counters are
// raised in one statement.
func (s *Store) Import(ctx context.Context, entries []store.Entry) error {
	return s.Update(ctx, func(stx store.Tx) error {
		return stx.(*tx).importEntries(entries)
	})
}

// importEntries is Import inside t (also Restore's, batch by batch).
func (t *tx) importEntries(entries []store.Entry) error {
	return store.ImportEntries(t, entries, t.raiseSeqs)
}

// raiseSeqs raises each counter to its value, never lowering one.
func (t *tx) raiseSeqs(counters map[string]uint64) error {
	if !t.writable {
		return errReadOnly
	}
	names := make([]string, 0, len(counters))
	values := make([]int64, 0, len(counters))
	for name, v := range counters {
		if v > math.MaxInt64 {
			return fmt.Errorf("pgstore: import counter %s: %d is beyond PostgreSQL's bigint", name, v)
		}
		names, values = append(names, name), append(values, int64(v))
	}
	// Counted-ahead counters go first, so GREATEST compares with them.
	if err := t.flush(); err != nil {
		return err
	}
	for _, name := range names {
		delete(t.seqs, name) // re-read on the next NextSeq
	}
	_, err := t.query(`INSERT INTO hearth_seq (name, value) SELECT * FROM unnest({:names}::text[], {:values}::bigint[])
		ON CONFLICT (name) DO UPDATE SET value = GREATEST(hearth_seq.value, excluded.value)`,
		dbx.Params{"names": names, "values": values}).Execute()
	if err != nil {
		return t.fail(fmt.Errorf("pgstore: import counters: %w", err))
	}
	return nil
}
