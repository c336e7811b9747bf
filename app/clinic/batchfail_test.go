package clinic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth/app/mail"
	"hearth/app/mail/mailtest"
	"hearth/app/store"
)

var errVictimWrite = errors.New("test: this write fails")

// failOnPatient is the real store, except that a transaction writing the
// plain meta of an item of victim fails, as a write the store refuses
// would: inside a batch, with other writers' work in the same commit.
type failOnPatient struct {
	store.Store
	victim atomic.Pointer[string]
	runs   atomic.Int64 // transaction functions run (bbolt re-runs a batch's survivors)
}

func (f *failOnPatient) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error {
		f.runs.Add(1)
		return fn(failTx{tx, f})
	})
}

type failTx struct {
	store.Tx
	f *failOnPatient
}

func (t failTx) Put(bucket, id string, value []byte) error {
	if v := t.f.victim.Load(); v != nil && bucket == bucketItemMeta && bytes.Contains(value, []byte(*v)) {
		return errVictimWrite
	}
	return t.Tx.Put(bucket, id, value)
}

// TestFailedBatchedWriteSendsNothing (checklist 4): twelve staff replies
// are written at once, so the store groups them into shared commits, and
// one of them fails inside the batch. That reply's caller gets the error,
// and nothing of it leaves: no live event for its item, no email in the
// outbox or at the mail server, no line in its thread. Every other reply
// is written exactly once (bbolt re-runs the survivors of a failed batch,
// and the test sees it do so): one more message in each thread, one event
// each, one email each.
func TestFailedBatchedWriteSendsNothing(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 23, 10, 0, 0, 0, hoursNY(t))}
	ctx := context.Background()
	e := fixture(t).Env(t, clock.now, nil)
	fs := &failOnPatient{Store: e.Store}
	rec := &recorder{}
	c := fixture(t).Open(t, Deps{Store: fs, Vault: e.Vault, Now: clock.now, Events: rec, Files: os.DirFS("../../embed")})
	o := fixture(t).Setup(t, c, SetupInput{})
	owner := Actor{Kind: ActorStaff, ID: o.ID, Role: RoleOwner}
	srv, _ := mailtest.Start(t, "", "")
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.SMTPHost, s.SMTPPort, s.SMTPMode, s.MailFrom, s.PublicURL = "127.0.0.1", srv.Port(), "none", "front@maple.example", "https://portal.maple.example"
	if err := c.SaveSettings(ctx, System, s); err != nil {
		t.Fatal(err)
	}
	const n = 12
	type one struct{ patient, item, email string }
	var all []one
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("patient%02d@example.com", i)
		p, err := c.CreatePatient(ctx, owner, PatientInput{Name: fmt.Sprintf("Pat Number%c", 'A'+i), DOB: "1970-06-15", Email: email})
		if err != nil {
			t.Fatal(err)
		}
		pa := Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}
		if err := c.SetEmailReplies(ctx, pa, true); err != nil {
			t.Fatal(err)
		}
		ack, err := c.CreateItem(ctx, pa, NewItem{Type: TypeMessage, Body: "A question"})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, one{p.ID, ack.Item.ID, email})
	}
	victim := all[n/2]
	eventsBefore := len(rec.list())
	fs.victim.Store(&victim.patient)
	runsBefore := fs.runs.Load()

	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if all[i] == victim {
				// Last into the shared commit, so the replies before it are
				// the ones bbolt runs again.
				time.Sleep(time.Millisecond)
			}
			_, errs[i] = c.AddMessage(ctx, owner, all[i].item, "Your results are in: please call us.", false)
		}()
	}
	close(start)
	wg.Wait()
	fs.victim.Store(nil)
	for i, err := range errs {
		if all[i] == victim {
			if !errors.Is(err, errVictimWrite) {
				t.Errorf("the failed reply answered %v, want its error", err)
			}
		} else if err != nil {
			t.Errorf("reply %d failed beside the failing one: %v", i, err)
		}
	}
	if runs := fs.runs.Load() - runsBefore; runs <= n {
		t.Logf("the writes ran %d transaction functions for %d replies: no batch was shared this time", runs, n)
	}
	perItem := map[string]int{}
	for _, ev := range rec.list()[eventsBefore:] {
		perItem[ev.ItemID]++
	}
	for _, x := range all {
		got := perItem[x.item]
		if x == victim && got != 0 {
			t.Errorf("the failed reply's item got %d live events", got)
		}
		if x != victim && got != 1 {
			t.Errorf("item %s got %d live events for one reply, want 1", x.item, got)
		}
		_, msgs, err := c.PatientThread(ctx, Actor{Kind: ActorPatient, ID: x.patient, Patient: x.patient}, x.item)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if x == victim {
			want = 1
		}
		staff := 0
		for _, m := range msgs {
			if m.Kind == KindStaff {
				staff++
			}
		}
		if staff != want-1 {
			t.Errorf("item %s: %d staff replies stored, want %d", x.item, staff, want-1)
		}
	}
	sent, err := c.SendDueMail(ctx, mail.Send)
	if err != nil {
		t.Fatal(err)
	}
	if sent != n-1 {
		t.Errorf("%d emails sent, want %d", sent, n-1)
	}
	to := map[string]int{}
	for _, m := range srv.Messages() {
		for _, x := range all {
			if strings.Contains(m, "To: "+x.email+"\r\n") {
				to[x.email]++
			}
		}
	}
	for _, x := range all {
		want := 1
		if x == victim {
			want = 0
		}
		if to[x.email] != want {
			t.Errorf("%s got %d emails, want %d", x.email, to[x.email], want)
		}
	}
}
