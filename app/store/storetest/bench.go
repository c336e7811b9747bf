package storetest

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"hearth/app/store"
)

// Bench runs the backend benchmarks. open must return a fresh, empty store
// for each sub-benchmark and arrange for it to be closed (b.Cleanup).
//
// The write benchmarks store what an inbox item costs: one 700-byte value
// (about an age-sealed message) and two index entries, in one Update.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("Put1", func(b *testing.B) {
		s := open(b)
		r := rand.New(rand.NewPCG(1, 2))
		value := make([]byte, 700)
		ctx := context.Background()
		for b.Loop() {
			if err := s.Update(ctx, putItem(newID(r), r.Uint64(), value)); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b)
	})
	b.Run("Put64", func(b *testing.B) {
		s := open(b)
		value := make([]byte, 700)
		ctx := context.Background()
		var seed atomic.Uint64
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((64 + procs - 1) / procs)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 7))
			for pb.Next() {
				if err := s.Update(ctx, putItem(newID(r), r.Uint64(), value)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRecords(b)
	})
	b.Run("Get", func(b *testing.B) {
		s := open(b)
		ids := fill(b, s, 10_000)
		r := rand.New(rand.NewPCG(3, 4))
		ctx := context.Background()
		for b.Loop() {
			id := ids[r.IntN(len(ids))]
			if err := s.View(ctx, func(tx store.Tx) error {
				_, err := tx.Get("bench", id)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Scan50", func(b *testing.B) {
		s := open(b)
		fill(b, s, 10_000)
		r := rand.New(rand.NewPCG(5, 6))
		ctx := context.Background()
		for b.Loop() {
			// A page of one queue's open items, from a random due time.
			after := dueKey("q1", r.Uint64N(8_000))
			n := 0
			if err := s.View(ctx, func(tx store.Tx) error {
				return tx.Scan("bench.by_queue", store.Range{Prefix: []byte("q1|open|"), After: after, Limit: 50},
					func([]byte, string) error { n++; return nil })
			}); err != nil {
				b.Fatal(err)
			}
			if n != 50 {
				b.Fatalf("scanned %d, want 50", n)
			}
		}
	})
}

func reportRecords(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "records/s")
	}
}

func newID(r *rand.Rand) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], r.Uint64())
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	return hex.EncodeToString(u[:])
}

func dueKey(queue string, due uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(queue+"|open|"), due)
}

// putItem stores a record with two index entries: the inbox order
// (queue|status|due|id) and a blind-index-style token → id.
func putItem(id string, due uint64, value []byte) func(store.Tx) error {
	return func(tx store.Tx) error {
		if err := tx.Put("bench", id, value); err != nil {
			return err
		}
		if err := tx.SetIndex("bench.by_queue", append(dueKey("q1", due), id...), id); err != nil {
			return err
		}
		return tx.SetIndex("bench.by_token", []byte("tok|"+id), id)
	}
}

// fill stores n records with index entries in queue q1, due 0..n-1.
func fill(b *testing.B, s store.Store, n int) []string {
	b.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	value := make([]byte, 700)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID(r)
	}
	for start := 0; start < n; start += 1000 {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				if err := tx.Put("bench", ids[i], value); err != nil {
					return err
				}
				if err := tx.SetIndex("bench.by_queue", append(dueKey("q1", uint64(i)), ids[i]...), ids[i]); err != nil {
					return fmt.Errorf("fill: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}
