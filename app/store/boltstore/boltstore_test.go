package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"hearth/app/store"
	"hearth/app/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "hearth.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func TestOpenIsDurableAndPrivate(t *testing.T) {
	s := openTemp(t)
	if s.db.NoSync {
		t.Fatal("NoSync is set: commits would not reach the disk")
	}
	if s.db.NoGrowSync {
		t.Fatal("NoGrowSync is set")
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("database file mode %v, want 0600", mode)
	}
}

func TestOpenInUse(t *testing.T) {
	s := openTemp(t)
	start := time.Now()
	s2, err := Open(s.Path(), Options{Timeout: 200 * time.Millisecond})
	if err == nil {
		_ = s2.Close()
		t.Fatal("second Open of a held database succeeded")
	}
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second Open took %v", d)
	}
	// Once closed, it opens again with its data.
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Put("items", "a", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3, err := Open(s.Path(), Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s3.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s3.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.Get("items", "a")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestValuesSurviveRemap reads values, ends the transaction, then grows the
// file through several remaps of the memory map while writers run: values
// that pointed into the old map would fault or change.
func TestValuesSurviveRemap(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	want := map[string][]byte{}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i := range 20 {
			id := fmt.Sprintf("id%02d", i)
			v := bytes.Repeat([]byte{byte('a' + i)}, 100+i)
			want[id] = v
			if err := tx.Put("items", id, v); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	var keys [][]byte
	if err := s.View(ctx, func(tx store.Tx) error {
		if err := tx.Each("items", "", func(id string, v []byte) error { got[id] = v; return nil }); err != nil {
			return err
		}
		v, err := tx.Get("items", "id07")
		got["get"] = v
		if err != nil {
			return err
		}
		return tx.Scan("items.by_id", store.Range{}, func(k []byte, _ string) error { keys = append(keys, k); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	sizeBefore := fileSize(t, s.Path())

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	big := bytes.Repeat([]byte("x"), 16<<10)
	for w := range 8 {
		wg.Go(func() {
			for i := range 64 { // 8 × 64 × 16 KiB = 8 MiB
				err := s.Update(ctx, func(tx store.Tx) error {
					return tx.Put("filler", fmt.Sprintf("%d-%d", w, i), big)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Use the old values while the map is being replaced, and after.
	for range 50 {
		checkValues(t, want, got, keys)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkValues(t, want, got, keys)
	if sizeAfter := fileSize(t, s.Path()); sizeAfter < 16*sizeBefore || sizeAfter < 8<<20 {
		t.Fatalf("file grew from %d to %d bytes only: no remap exercised", sizeBefore, sizeAfter)
	}
}

func checkValues(t *testing.T, want, got map[string][]byte, keys [][]byte) {
	t.Helper()
	for id, v := range want {
		if !bytes.Equal(got[id], v) {
			t.Fatalf("value of %s changed to %q", id, got[id])
		}
	}
	if !bytes.Equal(got["get"], want["id07"]) {
		t.Fatalf("Get value changed to %q", got["get"])
	}
	for i, k := range keys {
		if string(k) != fmt.Sprintf("id%02d", i) {
			t.Fatalf("scanned key %d changed to %q", i, k)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestBatchFailureIsolated: among concurrent Updates grouped into batches,
// one that fails leaves nothing behind and the others commit exactly once.
func TestBatchFailureIsolated(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	const n, failing = 64, 17
	errBoom := errors.New("boom")
	var ready, wg sync.WaitGroup
	ready.Add(n)
	start := make(chan struct{})
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			results[i] = s.Update(ctx, func(tx store.Tx) error {
				seq, err := tx.NextSeq("items")
				if err != nil {
					return err
				}
				id := fmt.Sprintf("id%02d", i)
				if err := tx.Put("items", id, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
					return err
				}
				if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
					return err
				}
				if i == failing {
					return errBoom
				}
				return nil
			})
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	for i, err := range results {
		if i == failing && !errors.Is(err, errBoom) {
			t.Fatalf("failing Update returned %v", err)
		}
		if i != failing && err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	seqs := map[uint64]string{}
	if err := s.View(ctx, func(tx store.Tx) error {
		if c, err := tx.Count("items"); err != nil || c != n-1 {
			return fmt.Errorf("Count = %d, %v; want %d", c, err, n-1)
		}
		if _, err := tx.Get("items", fmt.Sprintf("id%02d", failing)); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("record of the failed Update: %v", err)
		}
		if _, err := tx.Lookup("items.by_id", fmt.Appendf(nil, "id%02d", failing)); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("index entry of the failed Update: %v", err)
		}
		return tx.Each("items", "", func(id string, v []byte) error {
			seq := binary.BigEndian.Uint64(v)
			if other, dup := seqs[seq]; dup || seq < 1 || seq > n-1 {
				return fmt.Errorf("%s has sequence %d (also %q)", id, seq, other)
			}
			seqs[seq] = id
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		next, err := tx.NextSeq("items")
		if err == nil && next != n {
			err = fmt.Errorf("NextSeq = %d, want %d: a commit counted twice or a failure leaked", next, n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// writeFixture builds a database with enough records for branch pages and
// overflow values, closes it, and returns its path and contents.
func writeFixture(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	fill := func(tx store.Tx) error {
		for i := range 1500 {
			id := fmt.Sprintf("id%05d", i)
			v := bytes.Repeat([]byte{byte(i)}, 200)
			if i%100 == 0 {
				v = bytes.Repeat([]byte{byte(i)}, 9000) // overflow pages
			}
			want[id] = v
			if err := tx.Put("items", id, v); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
				return err
			}
		}
		return nil
	}
	// Twice, so both meta pages describe the same data.
	for range 2 {
		if err := s.Update(context.Background(), fill); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// pageTypes lists the page id → type ("meta", "freelist", "branch",
// "leaf", "free", or "overflow" for the tail of a multi-page one) of a
// closed database.
func pageTypes(t *testing.T, path string) (map[int]string, int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}()
	types := map[int]string{}
	var pageSize int
	err = db.View(func(tx *bbolt.Tx) error {
		pageSize = db.Info().PageSize
		for id := 0; ; {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			types[id] = info.Type
			for i := 1; i <= info.OverflowCount; i++ {
				types[id+i] = "overflow" // no header of its own
			}
			id += 1 + info.OverflowCount
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return types, pageSize
}

// openAndRead opens a damaged copy and reads all of it. It reports the
// first error (Open, Check or a read), whether all data read back intact,
// and never lets a panic through.
func openAndRead(path string, want map[string][]byte) (intact bool, err error) {
	s, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := s.Check(context.Background()); err != nil {
		return false, err
	}
	intact = true
	err = s.View(context.Background(), func(tx store.Tx) error {
		n := 0
		if err := tx.Each("items", "", func(id string, v []byte) error {
			n++
			if !bytes.Equal(v, want[id]) {
				intact = false
			}
			return nil
		}); err != nil {
			return err
		}
		if n != len(want) {
			intact = false
		}
		return nil
	})
	return intact, err
}

func TestCorruptFiles(t *testing.T) {
	src, want := writeFixture(t)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	types, pageSize := pageTypes(t, src)
	dir := t.TempDir()
	try := func(name string, data []byte) (bool, error) {
		t.Helper()
		p := filepath.Join(dir, name+".db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return openAndRead(p, want)
	}
	var used int64 // bytes the pages need: a cut below this must be caught
	for id := range types {
		used = max(used, int64(id+1)*int64(pageSize))
	}

	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int64{1, 100, int64(pageSize), int64(2 * pageSize), int64(3 * pageSize), used / 2, used - int64(pageSize), used - 1, used} {
			intact, err := try(fmt.Sprintf("trunc-%d", n), orig[:n])
			switch {
			case n < used && err == nil:
				t.Errorf("cut to %d of %d bytes: no error", n, used)
			case err != nil && !errors.Is(err, store.ErrCorrupt):
				t.Errorf("cut to %d: %v, want ErrCorrupt", n, err)
			case n >= used && (err != nil || !intact):
				t.Errorf("cut to the used length %d: intact %v, %v", n, intact, err)
			}
		}
	})

	t.Run("both meta pages", func(t *testing.T) {
		data := bytes.Clone(orig)
		data[16+4] ^= 0xff           // meta 0, version
		data[pageSize+16+40] ^= 0x01 // meta 1, inside the checksummed fields
		if _, err := try("metas", data); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("both meta pages damaged: %v, want ErrCorrupt", err)
		}
	})

	t.Run("page headers", func(t *testing.T) {
		// Damage the header (id, flags, count) of each page in use: bbolt
		// must notice, through Open (meta, freelist) or Check.
		checked := 0
		for id, typ := range types {
			if typ == "free" || typ == "overflow" {
				continue
			}
			data := bytes.Clone(orig)
			off := id * pageSize
			if typ == "meta" {
				// One meta page alone is recoverable from the other.
				data[off+16+8] ^= 0x5a
			} else {
				for i := range 12 {
					data[off+i] ^= 0xa5
				}
			}
			intact, err := try(fmt.Sprintf("head-%d", id), data)
			checked++
			switch {
			case typ == "meta" && (err != nil || !intact):
				t.Errorf("meta page %d damaged: intact %v, %v; want the other meta used", id, intact, err)
			case typ == "meta":
			case err == nil:
				t.Errorf("%s page %d header damaged: not detected (intact %v)", typ, id, intact)
			case err != nil && !errors.Is(err, store.ErrCorrupt):
				t.Errorf("%s page %d: %v, want ErrCorrupt", typ, id, err)
			}
		}
		t.Logf("%d pages damaged one at a time", checked)
	})

	t.Run("page bodies", func(t *testing.T) {
		// Flips inside element tables and keys: caught or harmless, never
		// a crash. (Value bytes carry no checksum in bbolt; Hearth's values
		// are authenticated age ciphertext, so the vault catches those.)
		var pages []int // every branch page and a spread of leaves
		leaves := 0
		for id := range len(types) {
			switch types[id] {
			case "branch":
				pages = append(pages, id)
			case "leaf":
				if leaves++; leaves%5 == 0 {
					pages = append(pages, id)
				}
			}
		}
		detected := 0
		for _, id := range pages {
			typ := types[id]
			for _, at := range []int{16, 20, 24, 40, 100} {
				data := bytes.Clone(orig)
				data[id*pageSize+at] ^= 0x80
				_, err := try(fmt.Sprintf("body-%d-%d", id, at), data)
				if err != nil {
					detected++
					if !errors.Is(err, store.ErrCorrupt) {
						t.Errorf("%s page %d byte %d: %v, want ErrCorrupt", typ, id, at, err)
					}
				}
			}
		}
		if detected == 0 {
			t.Error("no damaged element table was detected")
		}
	})
}

func TestRestore(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i := range 1000 {
			id := fmt.Sprintf("seed%04d", i)
			if err := tx.Put("items", id, bytes.Repeat([]byte("s"), 300)); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Back up while two writers keep going.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = s.Update(ctx, func(tx store.Tx) error {
					id := fmt.Sprintf("w%d-%06d", w, i)
					if err := tx.Put("items", id, bytes.Repeat([]byte("w"), 700)); err != nil {
						return err
					}
					return tx.SetIndex("items.by_id", []byte(id), id)
				})
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	var backup bytes.Buffer
	n, err := s.Backup(ctx, &backup)
	close(stop)
	wg.Wait()
	if err != nil || n != int64(backup.Len()) {
		t.Fatalf("Backup = %d, %v; %d bytes written", n, err, backup.Len())
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "hearth.db")
	if err := Restore(path, bytes.NewReader(backup.Bytes())); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored file: %v, %v", fi, err)
	}
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// The snapshot is consistent: every index entry has its record.
	var records, entries int
	if err := r.View(ctx, func(tx store.Tx) error {
		var err error
		if records, err = tx.Count("items"); err != nil {
			return err
		}
		return tx.Scan("items.by_id", store.Range{}, func(_ []byte, id string) error {
			entries++
			_, err := tx.Get("items", id)
			return err
		})
	}); err != nil {
		t.Fatal(err)
	}
	if records < 1000 || records != entries {
		t.Fatalf("restored %d records and %d index entries", records, entries)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// Never over an existing file.
	if err := Restore(path, bytes.NewReader(backup.Bytes())); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Restore over an existing file: %v, want ErrExist", err)
	}
	// Garbage, an empty stream and a cut-short backup are refused, and
	// leave nothing behind.
	for name, data := range map[string][]byte{
		"garbage": bytes.Repeat([]byte("not a database "), 1000),
		"empty":   nil,
		"cut":     backup.Bytes()[:backup.Len()/2],
	} {
		p := filepath.Join(dir, name+".db")
		if err := Restore(p, bytes.NewReader(data)); err == nil {
			t.Errorf("Restore of %s succeeded", name)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Restore of %s left %s: %v", name, p, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %q, want only hearth.db", names)
	}
}
