package clinic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Bulk loading: `hearth bench` fills a store at clinic-group scale (50,000
// patients, 100,000 items, 1,000,000 messages) in minutes. It uses the same
// record shapes, sealing, index keys and blind-index tokens as the product;
// it only seals in parallel and commits in large batches, and writes one
// summary audit event per batch instead of one per record.

// BulkSpec says how much synthetic data to make.
type BulkSpec struct {
	Patients int
	Items    int
	Messages int // in all; spread over the items
	Seed     uint64
	Progress func(done, total int)
}

// BulkResult is what was made, for the benchmark to drive.
type BulkResult struct {
	PatientIDs []string
	ItemIDs    []string
}

var (
	bulkFirst = []string{"Ada", "Bruno", "Carmen", "Dmitri", "Elena", "Farah", "Gustavo", "Hana", "Ivan", "Julia", "Kwame", "Lucía", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Samuel", "Tamar", "Uriel", "Valeria", "Wei", "Ximena", "Yusuf", "Zoe", "María", "José", "Linda", "Robert"}
	bulkLast  = []string{"Abbott", "Baker", "Castillo", "Dubois", "Estrada", "Fischer", "García", "Hughes", "Ibarra", "Jensen", "Khan", "López", "Martínez", "Nguyen", "Ortega", "Patel", "Quintero", "Rossi", "Smith", "Tanaka", "Usman", "Vargas", "Walker", "Xu", "Yilmaz", "Zhang", "Johnson", "Williams", "Brown", "Davis"}
	bulkBody  = "Hello, I wanted to ask about my blood pressure medicine. The pharmacy says the prescription ran out and I have two pills left. " +
		"Could someone send a new one to the same pharmacy as last time? Also, my appointment next month: is it still on Tuesday morning? " +
		"I can come in earlier if that helps. Thank you very much for your help, and have a good day. Best regards. "
)

// bulkText is long enough to cut 400–500-character messages from.
var bulkText = bulkBody + bulkBody

// BulkLoad makes spec's patients, items and messages.
func (c *Clinic) BulkLoad(ctx context.Context, spec BulkSpec) (BulkResult, error) {
	var res BulkResult
	rng := rand.New(rand.NewPCG(spec.Seed, 42))
	settings, err := c.Settings(ctx)
	if err != nil {
		return res, err
	}
	total := spec.Patients + spec.Items + spec.Messages
	done := 0
	report := func(n int) {
		done += n
		if spec.Progress != nil {
			spec.Progress(done, total)
		}
	}
	workers := runtime.GOMAXPROCS(0)

	// Patients.
	type sealedRec struct {
		bucket, id string
		val        []byte
		idx        map[string][][]byte
		meta       *ItemMeta
	}
	commit := func(recs []sealedRec, patient string) error {
		return c.st.Update(ctx, func(tx store.Tx) error {
			for _, r := range recs {
				if err := tx.Put(r.bucket, r.id, r.val); err != nil {
					return err
				}
				for ix, keys := range r.idx {
					for _, k := range keys {
						if err := tx.SetIndex(ix, k, r.id); err != nil {
							return err
						}
					}
				}
				if r.meta != nil {
					if err := putMeta(tx, nil, *r.meta); err != nil {
						return err
					}
				}
			}
			return c.audit(tx, System, "bulk.load", fmt.Sprintf("records:%d", len(recs)), "")
		})
	}
	parallel := func(n int, build func(i int) (sealedRec, error)) error {
		const batch = 2000
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			recs := make([]sealedRec, end-start)
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := start + w; i < end; i += workers {
						r, err := build(i)
						if err != nil {
							errs[w] = err
							return
						}
						recs[i-start] = r
					}
				}(w)
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			if err := commit(recs, ""); err != nil {
				return err
			}
			report(len(recs))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	}

	now := c.now().UTC()
	res.PatientIDs = make([]string, spec.Patients)
	names := make([]string, spec.Patients)
	for i := range res.PatientIDs {
		res.PatientIDs[i] = newTimeID()
		names[i] = bulkFirst[rng.IntN(len(bulkFirst))] + " " + bulkLast[rng.IntN(len(bulkLast))]
	}
	dobs := make([]string, spec.Patients)
	for i := range dobs {
		dobs[i] = time.Date(1930+rng.IntN(90), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	err = parallel(spec.Patients, func(i int) (sealedRec, error) {
		p := Patient{ID: res.PatientIDs[i], Name: names[i], DOB: dobs[i], Phone: fmt.Sprintf("555-%03d-%04d", i/10000%1000, i%10000), Lang: "en", Created: now}
		toks, err := c.patientTokens(p)
		if err != nil {
			return sealedRec{}, err
		}
		keys := make([][]byte, len(toks))
		for j, t := range toks {
			keys[j] = searchKey(t, p.ID)
		}
		val, err := c.seal(vault.NewRef(bucketPatients, p.ID, p.ID), p)
		return sealedRec{bucket: bucketPatients, id: p.ID, val: val, idx: map[string][][]byte{ixPatientSearch: keys}}, err
	})
	if err != nil {
		return res, err
	}

	// Items, with their first message inside the same batch shape.
	types := []string{TypeMessage, TypeRefill, TypeAppointment, TypeCallback}
	res.ItemIDs = make([]string, spec.Items)
	metas := make([]ItemMeta, spec.Items)
	perItem := 0
	if spec.Items > 0 {
		perItem = spec.Messages / spec.Items
	}
	hours := settings.hours()
	loc := settings.Location()
	for i := range metas {
		typ := types[rng.IntN(len(types))]
		created := now.Add(-time.Duration(rng.IntN(60*24*60)) * time.Minute)
		status := Statuses[rng.IntN(len(Statuses))]
		if rng.IntN(10) < 7 {
			status = StatusClosed
		}
		m := ItemMeta{ID: newTimeID(), Type: typ, Queue: settings.route(typ, false), Priority: PriorityNormal, Status: status,
			PatientID: res.PatientIDs[rng.IntN(max(1, spec.Patients))], Created: created, Updated: created,
			Due: DueAt(hours, loc, created, settings.target(typ), false).UTC(), Messages: perItem, Seen: status != StatusNew}
		if status == StatusClosed {
			m.Closed = created.Add(2 * time.Hour)
		}
		if i%50 == 0 {
			m.Priority, m.Queue = PriorityUrgent, UrgentQueue
		}
		metas[i] = m
		res.ItemIDs[i] = m.ID
	}
	err = parallel(spec.Items, func(i int) (sealedRec, error) {
		m := metas[i]
		it := Item{ItemMeta: m, Subject: subjectFor(NewItem{Type: m.Type, Body: bulkBody, Fields: map[string]string{"medication": "Lisinopril 10 mg", "reason": "Check-up"}}),
			Fields: map[string]string{"medication": "Lisinopril 10 mg", "pharmacy": "Main Street Pharmacy"}, Lang: "en"}
		val, err := c.seal(vault.NewRef(bucketItems, m.ID, m.PatientID), it)
		return sealedRec{bucket: bucketItems, id: m.ID, val: val, meta: &metas[i]}, err
	})
	if err != nil {
		return res, err
	}
	err = parallel(perItem*spec.Items, func(i int) (sealedRec, error) {
		m := metas[i/perItem]
		n := i%perItem + 1
		kind := KindPatient
		if n%2 == 0 {
			kind = KindStaff
		}
		msg := Message{ID: messageID(m.ID, n), ItemID: m.ID, Kind: kind, Body: bulkText[:400+(i*37)%100], At: m.Created.Add(time.Duration(n) * time.Minute)}
		if kind == KindStaff {
			msg.AuthorName, msg.AuthorRole = "Maria", RoleFrontDesk
		}
		val, err := c.seal(vault.NewRef(bucketMessages, msg.ID, m.PatientID), msg)
		return sealedRec{bucket: bucketMessages, id: msg.ID, val: val}, err
	})
	return res, err
}
