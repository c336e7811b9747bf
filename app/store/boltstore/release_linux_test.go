package boltstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hearth/app/store"
)

// mappedKB is how much of the database file's map is resident in this
// process (from /proc/self/smaps).
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	kb, in := 0, false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) >= 6 && f[len(f)-1] == path
		case in && len(f) >= 2 && f[0] == "Rss:":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			kb += n
		}
	}
	return kb
}

// The structure check reads every page through the map; afterwards those
// pages are no longer resident in the process, and the data reads back
// whole. So it is after a View once releaseEvery has passed.
func TestCheckLeavesTheFileUnmapped(t *testing.T) {
	s := openTemp(t)
	s.released.Store(time.Now().UnixNano()) // no release by the Views below until asked
	ctx := context.Background()
	val := []byte(strings.Repeat("x", 3000))
	for batch := 0; batch < 4; batch++ {
		if err := s.Update(ctx, func(tx store.Tx) error {
			for i := 0; i < 500; i++ {
				if err := tx.Put("b", fmt.Sprintf("r%d-%04d", batch, i), val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func() int {
		n := 0
		if err := s.View(ctx, func(tx store.Tx) error {
			return tx.Each("b", "", func(_ string, v []byte) error {
				if string(v) != string(val) {
					return fmt.Errorf("a record reads back as %d bytes", len(v))
				}
				n++
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	readAll()
	before := mappedKB(t, s.Path())
	if before < 4096 {
		t.Fatalf("only %d KB of the file resident after reading 6 MB through the map: the test measures nothing", before)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if after := mappedKB(t, s.Path()); after > before/4 {
		t.Errorf("%d KB of the file resident after the check (%d KB before): the check's pages stayed mapped", after, before)
	}
	if n := readAll(); n != 2000 {
		t.Errorf("%d records read back after the check, want 2000", n)
	}

	// The Views' own release: not before releaseEvery, then once.
	before = mappedKB(t, s.Path())
	if before < 4096 {
		t.Fatalf("only %d KB resident after reading it all again", before)
	}
	readAll()
	if now := mappedKB(t, s.Path()); now < before*3/4 {
		t.Errorf("a View released the map before releaseEvery: %d KB resident, %d before", now, before)
	}
	s.released.Store(time.Now().Add(-releaseEvery).UnixNano())
	if n := readAll(); n != 2000 {
		t.Errorf("%d records read back, want 2000", n)
	}
	if after := mappedKB(t, s.Path()); after > before/4 {
		t.Errorf("%d KB resident after a View past releaseEvery (%d KB before)", after, before)
	}
}

// Between the timed releases, a View that finds the map grown past the
// budget releases it; under the budget it does not.
func TestMapBudgetReleasesBetweenTimedReleases(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	val := []byte(strings.Repeat("y", 3000))
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i := 0; i < 2000; i++ {
			if err := tx.Put("b", fmt.Sprintf("r%04d", i), val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		if err := s.View(ctx, func(tx store.Tx) error {
			return tx.Each("b", "", func(_ string, v []byte) error {
				if string(v) != string(val) {
					return fmt.Errorf("a record reads back as %d bytes", len(v))
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// No timed release during the test; a measurement is due at each View.
	s.released.Store(time.Now().Add(time.Hour).UnixNano())
	s.fileBase = fileResident()
	s.budget = 1 << 40
	s.measured.Store(0)
	readAll()
	before := mappedKB(t, s.Path())
	if before < 4096 {
		t.Fatalf("only %d KB of the file resident after reading 6 MB through the map: the test measures nothing", before)
	}
	s.measured.Store(0)
	readAll()
	if now := mappedKB(t, s.Path()); now < before*3/4 {
		t.Fatalf("released under the budget: %d KB resident, %d before", now, before)
	}
	s.budget = 1 << 20
	s.measured.Store(time.Now().UnixNano())
	readAll()
	if now := mappedKB(t, s.Path()); now < before*3/4 {
		t.Fatalf("released before measureEvery had passed: %d KB resident, %d before", now, before)
	}
	s.measured.Store(0)
	readAll()
	if after := mappedKB(t, s.Path()); after > before/4 {
		t.Errorf("%d KB resident after a View found the map over its budget (%d KB before)", after, before)
	}
	readAll() // the data reads back whole after the release
}
