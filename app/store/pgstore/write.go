package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"hearth/app/store"
)

// maxBatch bounds how many Updates share one transaction.
const maxBatch = 256

// Retries of a transaction PostgreSQL aborted as a serialization failure
// or deadlock.
const (
	maxRetries = 5
	retryPause = 5 * time.Millisecond
)

// call is one Update waiting for, or in, a transaction.
type call struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error // receives the Update's result, once
}

// panicked carries a panic in fn from the goroutine that ran it to the
// Update that owns fn, which panics again with it.
type panicked struct{ reason any }

func (p panicked) Error() string { return fmt.Sprintf("pgstore: panic in Update: %v", p.reason) }

// Update runs fn in a read-write transaction and returns after the commit
// is flushed to PostgreSQL's WAL (synchronous_commit is forced on).
//
// Updates from this process that arrive while a write transaction runs are
// grouped into the next one. If one fn in a group fails, the transaction is
// rolled back and the others run again without it; then the failing fn
// runs alone, so the error Update returns is its own. fn can therefore run
// more than once and must have no effect outside tx. A context cancelled
// before fn's final run makes Update return ctx.Err() with nothing written.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.writes.add(c, maxBatch, s.runBatch)
	err := <-c.done
	if p, ok := err.(panicked); ok {
		panic(p.reason)
	}
	return err
}

// runBatch commits calls together, setting aside the ones that fail to run
// alone afterwards.
func (s *Store) runBatch(calls []*call) {
	var alone []*call
	for len(calls) > 0 {
		live := calls[:0]
		for _, c := range calls {
			if err := c.ctx.Err(); err != nil {
				c.done <- err
			} else {
				live = append(live, c)
			}
		}
		calls = live
		if len(calls) == 0 {
			break
		}
		res := s.attempt(calls)
		switch {
		case len(calls) > 1 && res.failed >= 0:
			alone = append(alone, calls[res.failed])
			calls = append(calls[:res.failed:res.failed], calls[res.failed+1:]...)
		case len(calls) > 1 && res.err != nil && res.rolledBack:
			// The transaction failed where no one fn can be blamed (the
			// final write): each runs alone to learn its own result.
			alone = append(alone, calls...)
			calls = nil
		default:
			for _, c := range calls {
				c.done <- res.err
			}
			calls = nil
		}
	}
	for _, c := range alone {
		s.runBatch([]*call{c})
	}
}

type result struct {
	err        error
	failed     int  // the index of the fn that failed, or -1
	rolledBack bool // err is certain to have left nothing committed
}

// attempt runs calls in one transaction, again if PostgreSQL aborted it as
// a serialization failure or deadlock.
func (s *Store) attempt(calls []*call) result {
	for try := 1; ; try++ {
		res := s.runOnce(calls)
		if res.err == nil || !retryable(res.err) || try == maxRetries {
			return res
		}
		s.log.Warn("pgstore: write transaction aborted by the server; retrying", "try", try, "err", res.err)
		time.Sleep(time.Duration(try) * retryPause)
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// runOnce runs calls in one write transaction. The transaction does not
// use a caller's context: it serves several callers, and a commit cut off
// halfway would leave them unsure whether it happened.
func (s *Store) runOnce(calls []*call) (res result) {
	res.failed = -1
	ctx := context.Background()
	q, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return result{err: fmt.Errorf("pgstore: begin: %w", err), failed: -1, rolledBack: true}
	}
	committed := false
	defer func() {
		if !committed {
			_ = q.Rollback()
		}
	}()
	t := newTx(ctx, q, true)
	if err := t.begin(); err != nil {
		return result{err: err, failed: -1, rolledBack: true}
	}
	for i, c := range calls {
		if err := c.ctx.Err(); err != nil {
			return result{err: err, failed: i, rolledBack: true}
		}
		err := safeCall(c.fn, t)
		if t.err != nil && retryable(t.err) {
			return result{err: t.err, failed: -1, rolledBack: true}
		}
		if err == nil && t.err != nil {
			// fn ignored a failed statement; the transaction cannot
			// commit, and it is fn's doing.
			err = t.err
		}
		if err != nil {
			return result{err: err, failed: i, rolledBack: true}
		}
	}
	if err := t.flush(); err != nil {
		return result{err: err, failed: -1, rolledBack: true}
	}
	committed = true
	if err := q.Commit(); err != nil {
		// A lost connection leaves it unknown whether the commit
		// happened: never run the fns again after this.
		return result{err: fmt.Errorf("pgstore: commit: %w", err), failed: -1, rolledBack: retryable(err)}
	}
	return result{failed: -1}
}

func safeCall(fn func(store.Tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked{reason: r}
		}
	}()
	return fn(t)
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: one consistent
// snapshot. Writes in it fail.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	defer func() { _ = q.Rollback() }()
	t := newTx(ctx, q, false)
	if err := fn(t); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	if err := q.Commit(); err != nil {
		return fmt.Errorf("pgstore: view: %w", err)
	}
	return nil
}
