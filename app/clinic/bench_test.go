package clinic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"hearth/app/store"
	"hearth/app/store/pgstore"
	"hearth/app/store/pgstore/pgtest"
	"hearth/app/vault"
)

// benchClinic is a clinic on a real bbolt file with real keys, or, with
// HEARTH_BENCH_STORE=postgres, on a fresh PostgreSQL database (pgtest).
func benchClinic(b *testing.B) (*Clinic, string) {
	var st store.Store
	if os.Getenv("HEARTH_BENCH_STORE") == "postgres" {
		pg, err := pgstore.Open(context.Background(), pgtest.DSN(b), pgstore.Options{Migrations: os.DirFS("../../embed/migrations")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := pg.Close(); err != nil {
				b.Error(err)
			}
		})
		st = pg
	}
	e := fixture(b).Env(b, nil, st)
	return fixture(b).Open(b, Deps{Store: e.Store, Vault: e.Vault}), filepath.Join(e.Dir, "hearth.db")
}

// TestMain stops a PostgreSQL cluster the benchmarks may have started.
func TestMain(m *testing.M) { pgtest.Main(m) }

type benchRecord struct {
	ID   string `json:"id"`
	Body string `json:"body"`
}

var body500 = fmt.Sprintf("%0500d", 0)

// writeSealed is one acknowledged write: seal outside the transaction, then
// a durable commit.
func writeSealed(c *Clinic, n int64) error {
	id := fmt.Sprintf("bench-%012d", n)
	sealed, err := c.seal(vault.NewRef(bucketMessages, id, "p"), benchRecord{ID: id, Body: body500})
	if err != nil {
		return err
	}
	return c.st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(bucketMessages, id, sealed) })
}

// BenchmarkSealedWrite: durable sealed writes of a 500-byte message, one
// writer and 64 concurrent writers; reports writes/s and bytes on disk per
// record (the size overhead).
func BenchmarkSealedWrite(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			c, path := benchClinic(b)
			var n atomic.Int64
			b.ResetTimer()
			if writers == 1 {
				for i := 0; i < b.N; i++ {
					if err := writeSealed(c, n.Add(1)); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism((writers + 1) / 2) // 2 cores here: 32 × GOMAXPROCS goroutines
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := writeSealed(c, n.Add(1)); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			if fi, err := os.Stat(path); err == nil && b.N >= 1000 {
				b.ReportMetric(float64(fi.Size())/float64(b.N), "disk_B/record")
			}
		})
	}
}

// BenchmarkOpenRecord: reading and opening one sealed record.
func BenchmarkOpenRecord(b *testing.B) {
	c, _ := benchClinic(b)
	for i := int64(1); i <= 100; i++ {
		if err := writeSealed(c, i); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%012d", i%100+1)
		var r benchRecord
		if err := c.st.View(context.Background(), func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketMessages, id, "p"), &r) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "opens/s")
}

// loadedClinic is a clinic with a modest synthetic store for the hot-path
// benchmarks (hearth bench measures the full clinic-group scale).
func loadedClinic(b *testing.B) (*Clinic, Actor, BulkResult) {
	c, _ := benchClinic(b)
	c.files = os.DirFS("../../embed")
	ctx := context.Background()
	owner, err := c.Setup(ctx, SetupInput{ClinicName: "Bench", OwnerName: "Olive Owner", OwnerEmail: "o@b.test", Password: "a-long-password-1"}, nil, "b")
	if err != nil {
		b.Fatal(err)
	}
	res, err := c.BulkLoad(ctx, BulkSpec{Patients: 5000, Items: 5000, Messages: 20000, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	return c, Actor{Kind: ActorStaff, ID: owner.ID, Role: RoleOwner}, res
}

// BenchmarkCreateItem: a patient's new request, sealed and durably stored,
// with 64 patients at once.
func BenchmarkCreateItem(b *testing.B) {
	c, _, res := loadedClinic(b)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := res.PatientIDs[int(n.Add(1))%len(res.PatientIDs)]
			_, err := c.CreateItem(context.Background(), Actor{Kind: ActorPatient, ID: p, Patient: p},
				NewItem{Type: TypeMessage, Body: "I need a refill of my blood pressure medicine, the pharmacy says it ran out."})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkListItems: one inbox page of 50 rows with patient names.
func BenchmarkListItems(b *testing.B) {
	c, owner, _ := loadedClinic(b)
	ctx := context.Background()
	if _, err := c.ListItems(ctx, owner, ItemFilter{Limit: 50}); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := c.ListItems(ctx, owner, ItemFilter{Limit: 50})
		if err != nil || len(rows) == 0 {
			b.Fatal(err, len(rows))
		}
	}
}

// BenchmarkSearchPatients: name prefix search over the blind index.
func BenchmarkSearchPatients(b *testing.B) {
	c, owner, _ := loadedClinic(b)
	ctx := context.Background()
	qs := []string{"mar", "gar", "lop", "ngu", "ort"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.SearchPatients(ctx, owner, qs[i%len(qs)], 20); err != nil {
			b.Fatal(err)
		}
	}
}
