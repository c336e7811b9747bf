// Package storetest is the conformance suite for store.Store backends: every
// backend (boltstore today, pgstore later) runs Run in its tests and Bench in
// its benchmarks, so they behave alike down to byte order and error values.
//
// The suite speaks only the store interface; it must never reach into a
// backend.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth/app/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for
// each subtest and arrange for it to be closed (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGetOverwriteDelete", testPutGetOverwriteDelete},
		{"GetMany", testGetMany},
		{"Each", testEach},
		{"Count", testCount},
		{"Index", testIndex},
		{"Scan", testScan},
		{"ScanModel", testScanModel},
		{"ByteOrder", testByteOrder},
		{"NextSeq", testNextSeq},
		{"Rollback", testRollback},
		{"BadName", testBadName},
		{"EmptyIDAndKey", testEmptyIDAndKey},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"Copies", testCopies},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Large", testLarge},
		{"BackupWhileWriting", testBackupWhileWriting},
		{"ContextCancelled", testContextCancelled},
		{"Check", testCheck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
	// These copy between two fresh stores.
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"ExportImport", testExportImport},
		{"Dump", testDump},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var errBoom = errors.New("storetest: boom")

func update(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func put(t testing.TB, s store.Store, bucket, id string, value []byte) {
	t.Helper()
	update(t, s, func(tx store.Tx) error { return tx.Put(bucket, id, value) })
}

// get returns the value, or nil and the error.
func get(t testing.TB, s store.Store, bucket, id string) ([]byte, error) {
	t.Helper()
	var v []byte
	var gerr error
	view(t, s, func(tx store.Tx) error {
		v, gerr = tx.Get(bucket, id)
		return nil
	})
	return v, gerr
}

func mustGet(t testing.TB, s store.Store, bucket, id string, want []byte) {
	t.Helper()
	v, err := get(t, s, bucket, id)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", bucket, id, err)
	}
	if !bytes.Equal(v, want) {
		t.Fatalf("Get(%s, %q) = %q, want %q", bucket, id, v, want)
	}
}

func mustNotFound(t testing.TB, s store.Store, bucket, id string) {
	t.Helper()
	v, err := get(t, s, bucket, id)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s, %q) = %q, %v; want ErrNotFound", bucket, id, v, err)
	}
}

func count(t testing.TB, s store.Store, bucket string) int {
	t.Helper()
	var n int
	view(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.Count(bucket)
		return err
	})
	return n
}

func lookup(t testing.TB, s store.Store, index string, key []byte) (string, error) {
	t.Helper()
	var id string
	var lerr error
	view(t, s, func(tx store.Tx) error {
		id, lerr = tx.Lookup(index, key)
		return nil
	})
	return id, lerr
}

func each(t testing.TB, s store.Store, bucket, after string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx store.Tx) error {
		return tx.Each(bucket, after, func(id string, _ []byte) error {
			ids = append(ids, id)
			return nil
		})
	})
	return ids
}

type entry struct {
	key []byte
	id  string
}

func scan(t testing.TB, s store.Store, index string, r store.Range) []entry {
	t.Helper()
	var got []entry
	view(t, s, func(tx store.Tx) error {
		return tx.Scan(index, r, func(key []byte, id string) error {
			got = append(got, entry{key, id}) // keys are copies: kept as is
			return nil
		})
	})
	return got
}

func keysOf(es []entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e.key)
	}
	return out
}

func testPutGetOverwriteDelete(t *testing.T, s store.Store) {
	mustNotFound(t, s, "items", "a") // bucket never written
	put(t, s, "items", "a", []byte("one"))
	mustGet(t, s, "items", "a", []byte("one"))
	mustNotFound(t, s, "items", "b")
	mustNotFound(t, s, "other", "a")

	put(t, s, "items", "a", []byte("two"))
	mustGet(t, s, "items", "a", []byte("two"))

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	put(t, s, "items", "bin", binary)
	mustGet(t, s, "items", "bin", binary)

	// Empty values are values, not absences.
	put(t, s, "items", "empty", []byte{})
	put(t, s, "items", "nil", nil)
	for _, id := range []string{"empty", "nil"} {
		v, err := get(t, s, "items", id)
		if err != nil || len(v) != 0 {
			t.Fatalf("Get(items, %s) = %q, %v; want empty, nil", id, v, err)
		}
	}

	// A transaction sees its own writes.
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("items", "c", []byte("three")); err != nil {
			return err
		}
		v, err := tx.Get("items", "c")
		if err != nil || string(v) != "three" {
			return fmt.Errorf("in the same tx, Get = %q, %v", v, err)
		}
		if err := tx.Delete("items", "c"); err != nil {
			return err
		}
		if _, err := tx.Get("items", "c"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("in the same tx, Get after Delete: %v, want ErrNotFound", err)
		}
		return nil
	})

	update(t, s, func(tx store.Tx) error { return tx.Delete("items", "a") })
	mustNotFound(t, s, "items", "a")
	mustGet(t, s, "items", "bin", binary)
	// Deleting what is not there is not an error, even in a bucket never written.
	update(t, s, func(tx store.Tx) error {
		if err := tx.Delete("items", "a"); err != nil {
			return err
		}
		return tx.Delete("never", "x")
	})
}

// getManyCase is one id asked of GetMany and what must come back: want
// nil means missing.
type getManyCase struct {
	id   string
	want []byte
}

// checkGetMany asks for every case's id at once and checks the answers
// value by value, and that each agrees with Get.
func checkGetMany(tx store.Tx, bucket string, cases []getManyCase) error {
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.id
	}
	got, err := tx.GetMany(bucket, ids)
	if err != nil {
		return fmt.Errorf("GetMany(%s, %q): %v", bucket, ids, err)
	}
	if len(got) != len(ids) {
		return fmt.Errorf("GetMany(%s, %q) returned %d values, want %d", bucket, ids, len(got), len(ids))
	}
	for i, c := range cases {
		if (got[i] == nil) != (c.want == nil) || !bytes.Equal(got[i], c.want) {
			return fmt.Errorf("GetMany(%s, …)[%d] (id %q) = %q (nil: %t), want %q (nil: %t)",
				bucket, i, c.id, got[i], got[i] == nil, c.want, c.want == nil)
		}
		v, err := tx.Get(bucket, c.id)
		switch {
		case c.want == nil && !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("Get(%s, %q) = %q, %v; GetMany said missing", bucket, c.id, v, err)
		case c.want != nil && (err != nil || !bytes.Equal(v, c.want)):
			return fmt.Errorf("Get(%s, %q) = %q, %v; GetMany said %q", bucket, c.id, v, err, c.want)
		}
	}
	return nil
}

func testGetMany(t *testing.T, s store.Store) {
	// A bucket never written, and no ids at all.
	view(t, s, func(tx store.Tx) error {
		if err := checkGetMany(tx, "items", []getManyCase{{"a", nil}, {"b", nil}}); err != nil {
			t.Error(err)
		}
		if got, err := tx.GetMany("items", nil); err != nil || len(got) != 0 {
			t.Errorf("GetMany(items, nil) = %q, %v; want none", got, err)
		}
		return nil
	})

	put(t, s, "items", "a", []byte("one"))
	put(t, s, "items", "b", []byte("two"))
	put(t, s, "items", "empty", []byte{})
	put(t, s, "items", "nil", nil)
	put(t, s, "other", "c", []byte("elsewhere"))

	// Order follows ids, repeats included; missing ids (among them ids no
	// backend can store) are nil; empty values are empty, not nil.
	committed := []getManyCase{
		{"b", []byte("two")}, {"missing", nil}, {"a", []byte("one")}, {"empty", []byte{}},
		{"b", []byte("two")}, {"nil", []byte{}}, {"c", nil}, {"", nil},
		{"x\x00y", nil}, {"\xff", nil}, {strings.Repeat("k", 5000), nil},
	}
	view(t, s, func(tx store.Tx) error {
		if err := checkGetMany(tx, "items", committed); err != nil {
			t.Error(err)
		}
		// Every value is its own copy, a repeated id's too.
		got, err := tx.GetMany("items", []string{"b", "b"})
		if err != nil {
			return err
		}
		copy(got[0], "XXX")
		if string(got[1]) != "two" {
			t.Errorf("changing one GetMany value changed a repeat: %q", got[1])
		}
		if v, err := tx.Get("items", "b"); err != nil || string(v) != "two" {
			t.Errorf("Get after changing a GetMany value = %q, %v", v, err)
		}
		return nil
	})

	// A write transaction reads its own writes, whether they are still
	// pending or already sent (Count makes a buffering backend send them).
	after := []getManyCase{
		{"a", nil}, {"b", []byte("new")}, {"c", nil}, {"f", []byte("four")},
		{"empty", []byte{}}, {"e2", []byte{}}, {"g", nil}, {"b", []byte("new")}, {"missing", nil},
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("items", "c", []byte("three")); err != nil {
			return err
		}
		if err := tx.Put("items", "f", []byte("four")); err != nil {
			return err
		}
		if err := tx.Put("items", "g", []byte("gone soon")); err != nil {
			return err
		}
		if err := tx.Delete("items", "a"); err != nil {
			return err
		}
		if err := checkGetMany(tx, "items", []getManyCase{
			{"a", nil}, {"c", []byte("three")}, {"g", []byte("gone soon")}, {"b", []byte("two")},
		}); err != nil {
			return err
		}
		if _, err := tx.Count("items"); err != nil {
			return err
		}
		for _, id := range []string{"c", "g"} {
			if err := tx.Delete("items", id); err != nil {
				return err
			}
		}
		if err := tx.Put("items", "b", []byte("new")); err != nil {
			return err
		}
		if err := tx.Put("items", "e2", nil); err != nil {
			return err
		}
		return checkGetMany(tx, "items", after)
	})
	view(t, s, func(tx store.Tx) error {
		if err := checkGetMany(tx, "items", after); err != nil {
			t.Error(err)
		}
		return nil
	})

	// Many ids at once, in an order unlike the stored one.
	update(t, s, func(tx store.Tx) error {
		for i := range 300 {
			if err := tx.Put("many", fmt.Sprintf("%04d", i), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	})
	var many []getManyCase
	for i := 599; i >= 0; i -= 2 {
		c := getManyCase{id: fmt.Sprintf("%04d", i)}
		if i < 300 {
			c.want = []byte(fmt.Sprint(i))
		}
		many = append(many, c)
	}
	view(t, s, func(tx store.Tx) error {
		if err := checkGetMany(tx, "many", many); err != nil {
			t.Error(err)
		}
		return nil
	})
}

func testEach(t *testing.T, s store.Store) {
	if ids := each(t, s, "none", ""); len(ids) != 0 {
		t.Fatalf("Each on a bucket never written = %q", ids)
	}
	ids := []string{"b", "a", "c", "aa", "ab", "B", "0", "a.b", "zz"}
	update(t, s, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.Put("items", id, []byte("v-"+id)); err != nil {
				return err
			}
		}
		return nil
	})
	sorted := slices.Clone(ids)
	slices.Sort(sorted) // byte order
	for _, tc := range []struct {
		after string
		want  []string
	}{
		{"", sorted},
		{"a", []string{"a.b", "aa", "ab", "b", "c", "zz"}},
		{"a0", []string{"aa", "ab", "b", "c", "zz"}}, // not a key: starts at the next one
		{"0", []string{"B", "a", "a.b", "aa", "ab", "b", "c", "zz"}},
		{"/", sorted},
		{"zz", nil},
		{"zzz", nil},
	} {
		if got := each(t, s, "items", tc.after); !slices.Equal(got, tc.want) {
			t.Errorf("Each(after %q) = %q, want %q", tc.after, got, tc.want)
		}
	}
	// Values belong to their ids.
	view(t, s, func(tx store.Tx) error {
		return tx.Each("items", "", func(id string, v []byte) error {
			if string(v) != "v-"+id {
				t.Errorf("Each: %q has value %q", id, v)
			}
			return nil
		})
	})
	// ErrStop ends the walk cleanly; other errors come back.
	var seen []string
	err := s.View(context.Background(), func(tx store.Tx) error {
		return tx.Each("items", "", func(id string, _ []byte) error {
			seen = append(seen, id)
			if len(seen) == 3 {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil || !slices.Equal(seen, sorted[:3]) {
		t.Fatalf("Each with ErrStop: err %v, seen %q", err, seen)
	}
	err = s.View(context.Background(), func(tx store.Tx) error {
		return tx.Each("items", "", func(string, []byte) error { return errBoom })
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Each with a failing callback: %v, want errBoom", err)
	}
}

func testCount(t *testing.T, s store.Store) {
	if n := count(t, s, "items"); n != 0 {
		t.Fatalf("Count of a bucket never written = %d", n)
	}
	update(t, s, func(tx store.Tx) error {
		for i := range 25 {
			if err := tx.Put("items", fmt.Sprintf("id%03d", i), []byte("x")); err != nil {
				return err
			}
		}
		// Count sees the transaction's own writes.
		if n, err := tx.Count("items"); err != nil || n != 25 {
			return fmt.Errorf("in the tx, Count = %d, %v; want 25", n, err)
		}
		return nil
	})
	if n := count(t, s, "items"); n != 25 {
		t.Fatalf("Count = %d, want 25", n)
	}
	put(t, s, "items", "id000", []byte("overwritten"))
	if n := count(t, s, "items"); n != 25 {
		t.Fatalf("Count after overwrite = %d, want 25", n)
	}
	update(t, s, func(tx store.Tx) error { return tx.Delete("items", "id007") })
	if n := count(t, s, "items"); n != 24 {
		t.Fatalf("Count after delete = %d, want 24", n)
	}
	// Buckets and indexes are apart, even under the same name.
	update(t, s, func(tx store.Tx) error { return tx.SetIndex("items", []byte("k"), "id001") })
	if n := count(t, s, "items"); n != 24 {
		t.Fatalf("Count after SetIndex on a same-named index = %d, want 24", n)
	}
	if n := count(t, s, "other"); n != 0 {
		t.Fatalf("Count(other) = %d, want 0", n)
	}
}

func testIndex(t *testing.T, s store.Store) {
	const ix = "items.by_queue"
	if _, err := lookup(t, s, ix, []byte("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup in an index never written: %v, want ErrNotFound", err)
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.SetIndex(ix, []byte("k1"), "id1"); err != nil {
			return err
		}
		if err := tx.SetIndex(ix, []byte("k2"), "id2"); err != nil {
			return err
		}
		if id, err := tx.Lookup(ix, []byte("k1")); err != nil || id != "id1" {
			return fmt.Errorf("in the same tx, Lookup = %q, %v", id, err)
		}
		return nil
	})
	for key, want := range map[string]string{"k1": "id1", "k2": "id2"} {
		if id, err := lookup(t, s, ix, []byte(key)); err != nil || id != want {
			t.Fatalf("Lookup(%s) = %q, %v; want %q", key, id, err, want)
		}
	}
	if _, err := lookup(t, s, ix, []byte("k3")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup(k3): %v, want ErrNotFound", err)
	}
	if _, err := lookup(t, s, ix, []byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup of a prefix of a key: %v, want ErrNotFound", err)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetIndex(ix, []byte("k1"), "id9") })
	if id, err := lookup(t, s, ix, []byte("k1")); err != nil || id != "id9" {
		t.Fatalf("Lookup after replace = %q, %v; want id9", id, err)
	}
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteIndex(ix, []byte("k1")); err != nil {
			return err
		}
		if err := tx.DeleteIndex(ix, []byte("missing")); err != nil {
			return fmt.Errorf("DeleteIndex of a missing key: %w", err)
		}
		return tx.DeleteIndex("never.written", []byte("k"))
	})
	if _, err := lookup(t, s, ix, []byte("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup after DeleteIndex: %v, want ErrNotFound", err)
	}
	if got := scan(t, s, ix, store.Range{}); len(got) != 1 || string(got[0].key) != "k2" || got[0].id != "id2" {
		t.Fatalf("Scan after DeleteIndex = %v", got)
	}
	// Indexes are apart from one another and from buckets.
	if _, err := lookup(t, s, "items.other", []byte("k2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup in another index: %v, want ErrNotFound", err)
	}
	if n := count(t, s, "items"); n != 0 {
		t.Fatalf("index entries counted as records: %d", n)
	}
}

// queueKey builds an inbox-style key: queue|status|due(8 bytes BE)|id.
func queueKey(queue, status string, due uint64, id string) []byte {
	k := []byte(queue + "|" + status + "|")
	k = binary.BigEndian.AppendUint64(k, due)
	return append(k, "|"+id...)
}

func testScan(t *testing.T, s store.Store) {
	const ix = "items.by_queue"
	var open1 [][]byte // q1|open in ascending order
	update(t, s, func(tx store.Tx) error {
		for i := range 10 {
			k := queueKey("q1", "open", uint64(1000+i), fmt.Sprintf("o%d", i))
			open1 = append(open1, k)
			for _, kk := range [][]byte{
				k,
				queueKey("q1", "done", uint64(1000+i), fmt.Sprintf("d%d", i)),
				queueKey("q2", "open", uint64(1000+i), fmt.Sprintf("p%d", i)),
			} {
				if err := tx.SetIndex(ix, kk, "id-"+string(kk[len(kk)-2:])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	strs := func(ks [][]byte) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = string(k)
		}
		return out
	}
	rev := func(ks [][]byte) [][]byte { r := slices.Clone(ks); slices.Reverse(r); return r }
	prefix := []byte("q1|open|")

	for _, tc := range []struct {
		name string
		r    store.Range
		want [][]byte
	}{
		{"prefix", store.Range{Prefix: prefix}, open1},
		{"prefix reverse", store.Range{Prefix: prefix, Reverse: true}, rev(open1)},
		{"after", store.Range{Prefix: prefix, After: open1[3]}, open1[4:]},
		{"after reverse", store.Range{Prefix: prefix, After: open1[7], Reverse: true}, rev(open1[:7])},
		{"limit", store.Range{Prefix: prefix, Limit: 3}, open1[:3]},
		{"limit reverse", store.Range{Prefix: prefix, Limit: 3, Reverse: true}, rev(open1)[:3]},
		{"after limit", store.Range{Prefix: prefix, After: open1[2], Limit: 4}, open1[3:7]},
		{"after last", store.Range{Prefix: prefix, After: open1[9]}, nil},
		{"after first reverse", store.Range{Prefix: prefix, After: open1[0], Reverse: true}, nil},
		{"no match", store.Range{Prefix: []byte("q3|")}, nil},
		{"after below prefix", store.Range{Prefix: prefix, After: []byte("q1|done|\xff")}, open1},
		{"after above prefix reverse", store.Range{Prefix: prefix, After: []byte("q1|p"), Reverse: true}, rev(open1)},
	} {
		if got := keysOf(scan(t, s, ix, tc.r)); !slices.Equal(got, strs(tc.want)) {
			t.Errorf("Scan %s: got %d keys %q, want %d", tc.name, len(got), got, len(tc.want))
		}
	}
	if got := scan(t, s, ix, store.Range{}); len(got) != 30 {
		t.Errorf("Scan with no prefix: %d entries, want 30", len(got))
	}
	if got := scan(t, s, "never.written", store.Range{}); len(got) != 0 {
		t.Errorf("Scan of an index never written: %v", got)
	}
	// Ids come with their keys.
	for _, e := range scan(t, s, ix, store.Range{Prefix: prefix}) {
		if e.id != "id-"+string(e.key[len(e.key)-2:]) {
			t.Errorf("Scan: key %q has id %q", e.key, e.id)
		}
	}

	// Paging with After and Limit visits every entry once, both ways.
	for _, reverse := range []bool{false, true} {
		var all []string
		var after []byte
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			page := scan(t, s, ix, store.Range{Prefix: prefix, After: after, Limit: 4, Reverse: reverse})
			if len(page) == 0 {
				break
			}
			all = append(all, keysOf(page)...)
			after = page[len(page)-1].key
		}
		want := strs(open1)
		if reverse {
			want = strs(rev(open1))
		}
		if !slices.Equal(all, want) {
			t.Errorf("paging (reverse %v) = %q, want %q", reverse, all, want)
		}
	}

	// ErrStop ends cleanly; other errors come back.
	n := 0
	err := s.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(ix, store.Range{}, func([]byte, string) error {
			if n++; n == 5 {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil || n != 5 {
		t.Fatalf("Scan with ErrStop: err %v after %d entries", err, n)
	}
	err = s.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(ix, store.Range{}, func([]byte, string) error { return errBoom })
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Scan with a failing callback: %v, want errBoom", err)
	}
}

// testScanModel compares Scan against a sorted-slice model over many ranges,
// keys full of 0x00 and 0xff included.
func testScanModel(t *testing.T, s store.Store) {
	const ix = "model.keys"
	keys := []string{
		"\x00", "\x00\x00", "\x00\x01", "\x01", "a", "a\x00", "a\x00b", "a\xff", "a\xff\xff",
		"ab", "abc", "abd", "b", "\xfe", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\x00", "\xff\xff\xff",
	}
	update(t, s, func(tx store.Tx) error {
		for i, k := range keys {
			if err := tx.SetIndex(ix, []byte(k), fmt.Sprintf("id%02d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	model := func(r store.Range) []string {
		var out []string
		for _, k := range sorted {
			if !strings.HasPrefix(k, string(r.Prefix)) {
				continue
			}
			if len(r.After) > 0 && !r.Reverse && k <= string(r.After) {
				continue
			}
			if len(r.After) > 0 && r.Reverse && k >= string(r.After) {
				continue
			}
			out = append(out, k)
		}
		if r.Reverse {
			slices.Reverse(out)
		}
		if r.Limit > 0 && len(out) > r.Limit {
			out = out[:r.Limit]
		}
		return out
	}
	prefixes := []string{"", "\x00", "a", "a\x00", "a\xff", "ab", "\xfe", "\xff", "\xff\xff", "\xff\xff\xff", "c", "\x00\x00\x00"}
	afters := append([]string{"", "\x00\x00\x00", "a\x01", "aa", "abz", "\xfe\x00", "\xff\xff\xff\xff"}, keys...)
	for _, p := range prefixes {
		for _, a := range afters {
			for _, reverse := range []bool{false, true} {
				for _, limit := range []int{0, 1, 2, 5} {
					r := store.Range{Reverse: reverse, Limit: limit}
					if p != "" {
						r.Prefix = []byte(p)
					}
					if a != "" {
						r.After = []byte(a)
					}
					want := model(r)
					if got := keysOf(scan(t, s, ix, r)); !slices.Equal(got, want) {
						t.Fatalf("Scan(prefix %q, after %q, reverse %v, limit %d) = %q, want %q", p, a, reverse, limit, got, want)
					}
				}
			}
		}
	}
	// Every key, however close to another, is its own.
	for i, k := range keys {
		if id, err := lookup(t, s, ix, []byte(k)); err != nil || id != fmt.Sprintf("id%02d", i) {
			t.Fatalf("Lookup(%q) = %q, %v", k, id, err)
		}
	}
}

func testByteOrder(t *testing.T, s store.Store) {
	const ix = "items.by_due"
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	stamps := []uint64{0, 1, 255, 256, 65535, 65536, 1 << 24, 1<<32 - 1, 1 << 32, 1 << 40, 1<<63 - 1, 1 << 63, 1<<64 - 1,
		uint64(base), uint64(base) + 1, uint64(base) + 1e9, uint64(base) + 86400e9}
	order := rand.Perm(len(stamps))
	update(t, s, func(tx store.Tx) error {
		for _, i := range order {
			k := binary.BigEndian.AppendUint64([]byte("due|"), stamps[i])
			if err := tx.SetIndex(ix, k, fmt.Sprintf("id%d", stamps[i])); err != nil {
				return err
			}
		}
		return nil
	})
	want := slices.Clone(stamps)
	slices.Sort(want)
	got := scan(t, s, ix, store.Range{Prefix: []byte("due|")})
	if len(got) != len(want) {
		t.Fatalf("Scan: %d entries, want %d", len(got), len(want))
	}
	for i, e := range got {
		if ts := binary.BigEndian.Uint64(e.key[4:]); ts != want[i] || e.id != fmt.Sprintf("id%d", ts) {
			t.Fatalf("entry %d: time %d id %q, want %d", i, ts, e.id, want[i])
		}
	}
	// "Due before t" is a reverse scan from t.
	cut := binary.BigEndian.AppendUint64([]byte("due|"), uint64(base)+1)
	got = scan(t, s, ix, store.Range{Prefix: []byte("due|"), After: cut, Reverse: true, Limit: 2})
	if len(got) != 2 || binary.BigEndian.Uint64(got[0].key[4:]) != uint64(base) || binary.BigEndian.Uint64(got[1].key[4:]) != 1<<40 {
		t.Fatalf("reverse scan before %d = %v", uint64(base)+1, got)
	}
}

func testNextSeq(t *testing.T, s store.Store) {
	next := func(name string) uint64 {
		t.Helper()
		var n uint64
		update(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.NextSeq(name)
			return err
		})
		return n
	}
	for want := uint64(1); want <= 5; want++ {
		if n := next("events"); n != want {
			t.Fatalf("NextSeq(events) = %d, want %d", n, want)
		}
	}
	if n := next("other"); n != 1 {
		t.Fatalf("NextSeq(other) = %d, want 1: counters are independent", n)
	}
	var a, b uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		if a, err = tx.NextSeq("events"); err != nil {
			return err
		}
		b, err = tx.NextSeq("events")
		return err
	})
	if a != 6 || b != 7 {
		t.Fatalf("two NextSeq in one tx = %d, %d; want 6, 7", a, b)
	}
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if _, err := tx.NextSeq("events"); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("failed Update returned %v, want errBoom", err)
	}
	if n := next("events"); n != 8 {
		t.Fatalf("NextSeq after a rolled back one = %d, want 8", n)
	}
	// Counters are not records.
	if n := count(t, s, "events"); n != 0 {
		t.Fatalf("Count(events) = %d, want 0", n)
	}
}

func testRollback(t *testing.T, s store.Store) {
	const ix = "items.by_queue"
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put("items", "keep", []byte("v1")); err != nil {
			return err
		}
		if err := tx.SetIndex(ix, []byte("keep"), "keep"); err != nil {
			return err
		}
		_, err := tx.NextSeq("items")
		return err
	})
	calls := atomic.Int32{}
	err := s.Update(context.Background(), func(tx store.Tx) error {
		calls.Add(1)
		for _, err := range []error{
			tx.Put("items", "new", []byte("x")),
			tx.Put("items", "keep", []byte("changed")),
			tx.Put("fresh", "x", []byte("x")),
			tx.SetIndex(ix, []byte("new"), "new"),
			tx.SetIndex("fresh.idx", []byte("new"), "new"),
			tx.DeleteIndex(ix, []byte("keep")),
		} {
			if err != nil {
				return err
			}
		}
		if _, err := tx.NextSeq("items"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want errBoom", err)
	}
	if calls.Load() == 0 {
		t.Fatal("fn never ran")
	}
	mustNotFound(t, s, "items", "new")
	mustNotFound(t, s, "fresh", "x")
	mustGet(t, s, "items", "keep", []byte("v1"))
	if n := count(t, s, "items"); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	if _, err := lookup(t, s, ix, []byte("new")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("index entry of a failed Update visible: %v", err)
	}
	if _, err := lookup(t, s, "fresh.idx", []byte("new")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("index entry of a failed Update visible: %v", err)
	}
	if id, err := lookup(t, s, ix, []byte("keep")); err != nil || id != "keep" {
		t.Fatalf("index entry deleted by a failed Update: %q, %v", id, err)
	}
	var n uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.NextSeq("items")
		return err
	})
	if n != 2 {
		t.Fatalf("NextSeq after failed Update = %d, want 2", n)
	}
}

func testBadName(t *testing.T, s store.Store) {
	bad := []string{"", "Items", "items ", "a b", "a/b", "a-b", "rec:x", "ü", "a\x00", strings.Repeat("a", 65)}
	for _, name := range bad {
		if store.ValidName(name) {
			t.Fatalf("ValidName(%q) = true", name)
		}
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrBadName) {
				t.Errorf("%s(%q) = %v, want ErrBadName", op, name, err)
			}
		}
		view(t, s, func(tx store.Tx) error {
			_, err := tx.Get(name, "id")
			check("Get", err)
			_, err = tx.GetMany(name, []string{"id"})
			check("GetMany", err)
			check("Each", tx.Each(name, "", func(string, []byte) error { return nil }))
			_, err = tx.Count(name)
			check("Count", err)
			_, err = tx.Lookup(name, []byte("k"))
			check("Lookup", err)
			check("Scan", tx.Scan(name, store.Range{}, func([]byte, string) error { return nil }))
			return nil
		})
		err := s.Update(context.Background(), func(tx store.Tx) error {
			check("Put", tx.Put(name, "id", []byte("v")))
			check("Delete", tx.Delete(name, "id"))
			check("SetIndex", tx.SetIndex(name, []byte("k"), "id"))
			check("DeleteIndex", tx.DeleteIndex(name, []byte("k")))
			_, err := tx.NextSeq(name)
			check("NextSeq", err)
			return tx.Put(name, "id", []byte("v"))
		})
		check("Update", err)
	}
	// The longest good name works.
	long := strings.Repeat("z", 64)
	put(t, s, long, "id", []byte("v"))
	mustGet(t, s, long, "id", []byte("v"))
	update(t, s, func(tx store.Tx) error { return tx.SetIndex("a.b_c.9", []byte("k"), "id") })
}

func testEmptyIDAndKey(t *testing.T, s store.Store) {
	for name, fn := range map[string]func(tx store.Tx) error{
		"Put with empty id":       func(tx store.Tx) error { return tx.Put("items", "", []byte("v")) },
		"SetIndex with empty key": func(tx store.Tx) error { return tx.SetIndex("items.x", nil, "id") },
		"SetIndex with empty id":  func(tx store.Tx) error { return tx.SetIndex("items.x", []byte("k"), "") },
		"SetIndex with [] key":    func(tx store.Tx) error { return tx.SetIndex("items.x", []byte{}, "id") },
		"Put then empty id fails": func(tx store.Tx) error { _ = tx.Put("items", "ok", nil); return tx.Put("items", "", nil) },
		"Index then empty key too": func(tx store.Tx) error {
			_ = tx.SetIndex("items.x", []byte("k"), "id")
			return tx.SetIndex("items.x", nil, "id")
		},
	} {
		if err := s.Update(context.Background(), fn); err == nil {
			t.Errorf("%s: Update succeeded, want an error", name)
		}
	}
	if n := count(t, s, "items"); n != 0 {
		t.Fatalf("Count = %d after failed Updates", n)
	}
	if got := scan(t, s, "items.x", store.Range{}); len(got) != 0 {
		t.Fatalf("index entries after failed Updates: %v", got)
	}
	mustNotFound(t, s, "items", "")
	if _, err := lookup(t, s, "items.x", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup(nil key) = %v, want ErrNotFound", err)
	}
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	put(t, s, "items", "a", []byte("v"))
	for name, fn := range map[string]func(tx store.Tx) error{
		"Put":              func(tx store.Tx) error { return tx.Put("items", "b", []byte("v")) },
		"Put new bucket":   func(tx store.Tx) error { return tx.Put("fresh", "b", []byte("v")) },
		"Delete":           func(tx store.Tx) error { return tx.Delete("items", "a") },
		"SetIndex":         func(tx store.Tx) error { return tx.SetIndex("items.x", []byte("k"), "a") },
		"NextSeq":          func(tx store.Tx) error { _, err := tx.NextSeq("items"); return err },
		"Put then succeed": func(tx store.Tx) error { _ = tx.Put("items", "c", []byte("v")); return nil },
	} {
		err := s.View(context.Background(), fn)
		if name != "Put then succeed" && err == nil {
			t.Errorf("View with %s succeeded, want an error", name)
		}
	}
	mustGet(t, s, "items", "a", []byte("v"))
	if n := count(t, s, "items"); n != 1 {
		t.Fatalf("Count = %d after writes in View, want 1", n)
	}
	if n := count(t, s, "fresh"); n != 0 {
		t.Fatalf("View created records: %d", n)
	}
}

func testCopies(t *testing.T, s store.Store) {
	const ix = "items.by_key"
	// Put copies: the caller may reuse its buffer once Put returns, even
	// though the commit comes later.
	update(t, s, func(tx store.Tx) error {
		buf := []byte("original")
		key := []byte("key1")
		if err := tx.Put("items", "a", buf); err != nil {
			return err
		}
		if err := tx.SetIndex(ix, key, "a"); err != nil {
			return err
		}
		copy(buf, "XXXXXXXX")
		copy(key, "KKKK")
		return nil
	})
	mustGet(t, s, "items", "a", []byte("original"))
	if id, err := lookup(t, s, ix, []byte("key1")); err != nil || id != "a" {
		t.Fatalf("Lookup(key1) = %q, %v", id, err)
	}

	// Values handed out are copies the caller may change and keep.
	var kept, eachKept [][]byte
	var keptKeys [][]byte
	view(t, s, func(tx store.Tx) error {
		v, err := tx.Get("items", "a")
		if err != nil {
			return err
		}
		copy(v, "MUTATED!")
		v2, err := tx.Get("items", "a")
		if err != nil || string(v2) != "original" {
			return fmt.Errorf("after mutating an earlier result, Get = %q, %v", v2, err)
		}
		kept = append(kept, v2)
		if err := tx.Each("items", "", func(_ string, v []byte) error {
			eachKept = append(eachKept, v)
			copy(v, "ZZZZ")
			return nil
		}); err != nil {
			return err
		}
		return tx.Scan(ix, store.Range{}, func(k []byte, _ string) error {
			keptKeys = append(keptKeys, k)
			copy(k, "QQQQ")
			return nil
		})
	})
	mustGet(t, s, "items", "a", []byte("original"))
	if id, err := lookup(t, s, ix, []byte("key1")); err != nil || id != "a" {
		t.Fatalf("Lookup(key1) after mutating a scanned key = %q, %v", id, err)
	}
	// Write plenty after the reads ended; what was kept stays intact.
	for i := range 20 {
		update(t, s, func(tx store.Tx) error {
			for j := range 50 {
				if err := tx.Put("filler", fmt.Sprintf("%03d-%03d", i, j), bytes.Repeat([]byte{byte(j)}, 1000)); err != nil {
					return err
				}
			}
			return tx.Put("items", "a", []byte("replaced"))
		})
	}
	if string(kept[0]) != "original" || string(eachKept[0]) != "ZZZZinal" || string(keptKeys[0]) != "QQQQ" {
		t.Fatalf("kept values changed: %q %q %q", kept[0], eachKept[0], keptKeys[0])
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	const writers, perWriter = 64, 200
	const ix = "conc.by_writer"
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	stop := make(chan struct{})
	// Readers alongside: counts only grow.
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			last := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := s.View(ctx, func(tx store.Tx) error {
					var err error
					n, err = tx.Count("conc")
					return err
				}); err != nil {
					errs <- err
					return
				}
				if n < last {
					errs <- fmt.Errorf("count went back from %d to %d", last, n)
					return
				}
				last = n
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := fmt.Sprintf("w%02d-%04d", w, i)
				err := s.Update(ctx, func(tx store.Tx) error {
					seq, err := tx.NextSeq("conc")
					if err != nil {
						return err
					}
					if err := tx.Put("conc", id, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
						return err
					}
					return tx.SetIndex(ix, []byte(id), id)
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d, update %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = writers * perWriter
	if n := count(t, s, "conc"); n != total {
		t.Fatalf("Count = %d, want %d", n, total)
	}
	if got := scan(t, s, ix, store.Range{}); len(got) != total {
		t.Fatalf("index has %d entries, want %d", len(got), total)
	}
	// Every Update committed exactly once: the counter shows each sequence
	// number once, and none beyond the total.
	seen := make([]bool, total+1)
	view(t, s, func(tx store.Tx) error {
		return tx.Each("conc", "", func(id string, v []byte) error {
			seq := binary.BigEndian.Uint64(v)
			if seq == 0 || seq > total || seen[seq] {
				return fmt.Errorf("%s has sequence %d (duplicate or out of range)", id, seq)
			}
			seen[seq] = true
			return nil
		})
	})
	var next uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		next, err = tx.NextSeq("conc")
		return err
	})
	if next != total+1 {
		t.Fatalf("NextSeq after %d Updates = %d", total, next)
	}
}

func testLarge(t *testing.T, s store.Store) {
	const total, batch = 100_000, 1_000
	const ix = "large.by_seq"
	value := func(i int) []byte {
		v := make([]byte, 64)
		binary.BigEndian.PutUint64(v, uint64(i))
		return v
	}
	id := func(i int) string { return fmt.Sprintf("r%08d", i) }
	start := time.Now()
	for b := 0; b < total; b += batch {
		update(t, s, func(tx store.Tx) error {
			for i := b; i < b+batch; i++ {
				if err := tx.Put("large", id(i), value(i)); err != nil {
					return err
				}
				if err := tx.SetIndex(ix, binary.BigEndian.AppendUint64(nil, uint64(i)), id(i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	written := time.Since(start)
	if n := count(t, s, "large"); n != total {
		t.Fatalf("Count = %d, want %d", n, total)
	}
	i := 0
	view(t, s, func(tx store.Tx) error {
		return tx.Scan(ix, store.Range{}, func(k []byte, rid string) error {
			if binary.BigEndian.Uint64(k) != uint64(i) || rid != id(i) {
				return fmt.Errorf("entry %d: key %x id %s", i, k, rid)
			}
			i++
			return nil
		})
	})
	if i != total {
		t.Fatalf("Scan visited %d, want %d", i, total)
	}
	view(t, s, func(tx store.Tx) error {
		for range 200 {
			j := rand.IntN(total)
			v, err := tx.Get("large", id(j))
			if err != nil || !bytes.Equal(v, value(j)) {
				return fmt.Errorf("Get(%s) = %x, %v", id(j), v, err)
			}
		}
		return nil
	})
	t.Logf("%d records + index entries written in %v; all checks in %v", total, written, time.Since(start))
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func testBackupWhileWriting(t *testing.T, s store.Store) {
	ctx := context.Background()
	update(t, s, func(tx store.Tx) error {
		for i := range 500 {
			if err := tx.Put("items", fmt.Sprintf("seed%04d", i), bytes.Repeat([]byte("s"), 500)); err != nil {
				return err
			}
		}
		return nil
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := s.Update(ctx, func(tx store.Tx) error {
					id := fmt.Sprintf("w%d-%06d", w, i)
					if err := tx.Put("items", id, bytes.Repeat([]byte("w"), 700)); err != nil {
						return err
					}
					return tx.SetIndex("items.by_writer", []byte(id), id)
				})
				if err != nil {
					errs <- err
					return
				}
				writes.Add(1)
			}
		})
	}
	for writes.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	var cw countingWriter
	n, err := s.Backup(ctx, &cw)
	close(stop)
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if n <= 0 || n != cw.n {
		t.Fatalf("Backup returned %d, wrote %d bytes", n, cw.n)
	}
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	var buf bytes.Buffer
	n2, err := s.Backup(ctx, &buf)
	if err != nil || n2 != int64(buf.Len()) || n2 <= 0 {
		t.Fatalf("quiet Backup = %d, %v; buffer has %d", n2, err, buf.Len())
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error {
		ran = true
		return tx.Put("items", "a", []byte("v"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a cancelled context = %v, want context.Canceled", err)
	}
	if ran {
		t.Error("Update ran fn with a cancelled context")
	}
	mustNotFound(t, s, "items", "a")
	if err := s.View(ctx, func(store.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("View with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.Backup(ctx, &countingWriter{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup with a cancelled context = %v, want context.Canceled", err)
	}
	// A deadline counts as well.
	dctx, dcancel := context.WithTimeout(context.Background(), -time.Second)
	defer dcancel()
	if err := s.Update(dctx, func(tx store.Tx) error { return tx.Put("items", "b", nil) }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update past its deadline = %v, want context.DeadlineExceeded", err)
	}
	mustNotFound(t, s, "items", "b")
}

func testCheck(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check of an empty store: %v", err)
	}
	update(t, s, func(tx store.Tx) error {
		for i := range 2000 {
			id := fmt.Sprintf("id%05d", i)
			if err := tx.Put("items", id, bytes.Repeat([]byte{byte(i)}, 300)); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		for i := 0; i < 2000; i += 3 {
			if err := tx.Delete("items", fmt.Sprintf("id%05d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// fillForCopy gives s records (binary and empty values), index entries
// (keys at both ends of the byte range) and counters in several names.
func fillForCopy(t *testing.T, s store.Store) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for i := range 300 {
			id := fmt.Sprintf("id%04d", i)
			v := make([]byte, i%50)
			for j := range v {
				v[j] = byte(i * j)
			}
			if err := tx.Put("items", id, v); err != nil {
				return err
			}
			if err := tx.Put("b.other", fmt.Sprintf("x%03d", 299-i), []byte(id)); err != nil {
				return err
			}
			key := binary.BigEndian.AppendUint64([]byte{byte(i % 3 * 0x7f)}, uint64(i)*0x0101010101)
			if err := tx.SetIndex("items.by_due", key, id); err != nil {
				return err
			}
		}
		for _, k := range []string{"\x00", "\x00\x00", "\xff", "\xff\xff", "a", "a\x00", "B"} {
			if err := tx.SetIndex("items.edge", []byte(k), "id0001"); err != nil {
				return err
			}
		}
		if err := tx.Put("items", "empty", nil); err != nil {
			return err
		}
		for _, c := range []struct {
			name string
			n    int
		}{{"events", 7}, {"audit", 300}, {"a.b", 1}} {
			for range c.n {
				if _, err := tx.NextSeq(c.name); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func exportAll(t *testing.T, s store.Store) []store.Entry {
	t.Helper()
	var all []store.Entry
	if err := s.Export(context.Background(), func(e store.Entry) error {
		all = append(all, e)
		return nil
	}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return all
}

func sameEntries(t *testing.T, what string, got, want []store.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Name != w.Name || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) {
			t.Fatalf("%s: entry %d = {%d %s %q %q}, want {%d %s %q %q}", what, i, g.Kind, g.Name, g.Key, g.Value, w.Kind, w.Name, w.Key, w.Value)
		}
	}
}

func seqEntry(name string, v uint64) store.Entry {
	return store.Entry{Kind: store.KindSeq, Name: name, Value: binary.BigEndian.AppendUint64(nil, v)}
}

func testExportImport(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a := open(t)
	if got := exportAll(t, a); len(got) != 0 {
		t.Fatalf("Export of an empty store: %d entries", len(got))
	}
	fillForCopy(t, a)
	want := exportAll(t, a)

	// Ordered by kind, then name, then key; every entry well formed.
	counts := map[store.EntryKind]int{}
	for i, e := range want {
		counts[e.Kind]++
		if e.Kind == store.KindSeq && (e.Key != nil || len(e.Value) != 8) {
			t.Fatalf("counter entry %s: key %q, value %x", e.Name, e.Key, e.Value)
		}
		if i == 0 {
			continue
		}
		p := want[i-1]
		if c := cmpEntry(p, e); c >= 0 {
			t.Fatalf("entry %d {%d %s %q} does not sort after {%d %s %q}", i, e.Kind, e.Name, e.Key, p.Kind, p.Name, p.Key)
		}
	}
	if counts[store.KindRecord] != 601 || counts[store.KindIndex] != 307 || counts[store.KindSeq] != 3 {
		t.Fatalf("Export counted %v", counts)
	}
	for _, e := range want {
		if e.Kind == store.KindSeq && e.Name == "audit" && binary.BigEndian.Uint64(e.Value) != 300 {
			t.Fatalf("counter audit exported as %x", e.Value)
		}
	}

	// ErrStop ends the walk cleanly.
	n := 0
	if err := a.Export(ctx, func(store.Entry) error {
		if n++; n == 3 {
			return store.ErrStop
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("Export with ErrStop: %v after %d entries", err, n)
	}
	if err := a.Export(ctx, func(store.Entry) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("Export with a failing callback: %v, want errBoom", err)
	}

	// Into a fresh store, in several Imports: the same, byte for byte.
	b := open(t)
	for start := 0; start < len(want); start += 100 {
		if err := b.Import(ctx, want[start:min(start+100, len(want))]); err != nil {
			t.Fatalf("Import: %v", err)
		}
	}
	sameEntries(t, "after Import", exportAll(t, b), want)
	// The imported store works: counters go on from where they were.
	var next uint64
	update(t, b, func(tx store.Tx) error {
		var err error
		next, err = tx.NextSeq("audit")
		return err
	})
	if next != 301 {
		t.Fatalf("NextSeq(audit) after Import = %d, want 301", next)
	}

	// Importing again changes nothing, and counters never move back:
	// audit is at 301 in b now, 300 in the dump.
	want = exportAll(t, b)
	if err := b.Import(ctx, exportAll(t, a)); err != nil {
		t.Fatalf("second Import: %v", err)
	}
	sameEntries(t, "after importing twice", exportAll(t, b), want)
	if err := b.Import(ctx, []store.Entry{seqEntry("audit", 5), seqEntry("events", 100), seqEntry("events", 90), seqEntry("fresh", 9)}); err != nil {
		t.Fatalf("Import of counters: %v", err)
	}
	for name, wantN := range map[string]uint64{"audit": 302, "events": 101, "fresh": 10} {
		update(t, b, func(tx store.Tx) error {
			var err error
			next, err = tx.NextSeq(name)
			return err
		})
		if next != wantN {
			t.Errorf("NextSeq(%s) after importing counters = %d, want %d", name, next, wantN)
		}
	}

	// Records and index entries replace what is there.
	put(t, b, "items", "id0007", []byte("changed"))
	update(t, b, func(tx store.Tx) error { return tx.SetIndex("items.edge", []byte("a"), "other") })
	if err := b.Import(ctx, []store.Entry{
		{Kind: store.KindRecord, Name: "items", Key: []byte("id0007"), Value: []byte("imported")},
		{Kind: store.KindIndex, Name: "items.edge", Key: []byte("a"), Value: []byte("id0002")},
	}); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b, "items", "id0007", []byte("imported"))
	if id, err := lookup(t, b, "items.edge", []byte("a")); err != nil || id != "id0002" {
		t.Fatalf("Lookup after Import = %q, %v", id, err)
	}

	// One transaction: a bad entry anywhere writes nothing.
	c := open(t)
	for name, bad := range map[string]store.Entry{
		"bad name":          {Kind: store.KindRecord, Name: "Bad Name", Key: []byte("x"), Value: nil},
		"bad counter value": {Kind: store.KindSeq, Name: "events", Value: []byte{1, 2, 3}},
		"unknown kind":      {Kind: 9, Name: "items", Key: []byte("x")},
		"empty index key":   {Kind: store.KindIndex, Name: "items.x", Key: nil, Value: []byte("a")},
	} {
		err := c.Import(ctx, []store.Entry{
			{Kind: store.KindRecord, Name: "items", Key: []byte("good"), Value: []byte("v")},
			seqEntry("good", 3),
			bad,
		})
		if err == nil {
			t.Errorf("Import with a %s succeeded", name)
		}
		if got := exportAll(t, c); len(got) != 0 {
			t.Fatalf("Import with a %s wrote %d entries", name, len(got))
		}
	}
	if err := c.Import(ctx, []store.Entry{{Kind: store.KindRecord, Name: "Bad", Key: []byte("x")}}); !errors.Is(err, store.ErrBadName) {
		t.Errorf("Import with a bad name = %v, want ErrBadName", err)
	}
	if err := c.Import(ctx, nil); err != nil {
		t.Errorf("Import of nothing: %v", err)
	}
}

// cmpEntry orders entries as Export must: kind, name, key.
func cmpEntry(a, b store.Entry) int {
	if a.Kind != b.Kind {
		return int(a.Kind) - int(b.Kind)
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return bytes.Compare(a.Key, b.Key)
}

func testDump(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a := open(t)
	fillForCopy(t, a)
	want := exportAll(t, a)
	var buf bytes.Buffer
	n, err := store.WriteDump(ctx, &buf, a)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteDump = %d, %v; %d bytes written", n, err, buf.Len())
	}

	b := open(t)
	total, err := store.ReadDump(bytes.NewReader(buf.Bytes()), 64, func(es []store.Entry) error { return b.Import(ctx, es) })
	if err != nil || total != len(want) {
		t.Fatalf("ReadDump = %d, %v; want %d entries", total, err, len(want))
	}
	sameEntries(t, "after a dump", exportAll(t, b), want)

	// A dump cut anywhere, or with a wrong count, is damaged; read in one
	// batch, nothing of it is written.
	cuts := []int{0, 5, len("HEARTH-STORE-DUMP 1\n"), buf.Len() / 3, buf.Len() - 2, buf.Len() - 1}
	for _, cut := range cuts {
		c := open(t)
		_, err := store.ReadDump(bytes.NewReader(buf.Bytes()[:cut]), 1<<20, func(es []store.Entry) error { return c.Import(ctx, es) })
		if !errors.Is(err, store.ErrDumpDamaged) {
			t.Fatalf("ReadDump of a dump cut at %d of %d bytes = %v, want ErrDumpDamaged", cut, buf.Len(), err)
		}
		if got := exportAll(t, c); len(got) != 0 {
			t.Fatalf("a dump cut at %d wrote %d entries", cut, len(got))
		}
	}
	// Read in small batches, a cut dump still ends in the error.
	_, err = store.ReadDump(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), 10, func([]store.Entry) error { return nil })
	if !errors.Is(err, store.ErrDumpDamaged) {
		t.Fatalf("ReadDump of half a dump in batches = %v, want ErrDumpDamaged", err)
	}
	// Extra bytes after the count are not read as more entries, but a count
	// that does not match is damage.
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)-1]++
	if _, err := store.ReadDump(bytes.NewReader(bad), 1<<20, func([]store.Entry) error { return nil }); !errors.Is(err, store.ErrDumpDamaged) {
		t.Fatalf("ReadDump with a wrong count = %v, want ErrDumpDamaged", err)
	}
}
