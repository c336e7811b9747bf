package clinic

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hearth/app/mail/mailtest"
	"hearth/app/store"
)

// diskStore refuses every commit with errno while it is set, the way a
// full or failing disk makes bbolt's commit fail: fn runs, nothing is kept.
type diskStore struct {
	store.Store
	errno atomic.Pointer[syscall.Errno]
}

func (d *diskStore) set(e syscall.Errno) { d.errno.Store(&e) }
func (d *diskStore) clear()              { d.errno.Store(nil) }

func (d *diskStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return d.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if e := d.errno.Load(); e != nil {
			return &fs.PathError{Op: "write", Path: "hearth.db", Err: *e}
		}
		return nil
	})
}

// safeClock is a clock the test moves while the clinic's mail goroutine
// reads it.
type safeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *safeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *safeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type diskClinic struct {
	c     *Clinic
	disk  *diskStore
	clock *safeClock
	owner Actor
	smtp  *mailtest.Server
}

// newDiskClinic is a set-up clinic whose disk the test can fill, with a
// mail server (plain SMTP on loopback, as for a relay on the same machine)
// and a second, disabled owner who must not be emailed.
func newDiskClinic(t *testing.T) *diskClinic {
	t.Helper()
	ctx := context.Background()
	clock := &safeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	e := fixture(t).Env(t, clock.now, nil)
	disk := &diskStore{Store: e.Store}
	c := fixture(t).Open(t, Deps{Store: disk, Vault: e.Vault, Now: clock.now, Files: os.DirFS("../../embed")})
	owner := fixture(t).Setup(t, c, SetupInput{})
	dc := &diskClinic{c: c, disk: disk, clock: clock, owner: Actor{Kind: ActorStaff, ID: owner.ID, Role: RoleOwner}}
	dc.smtp, _ = mailtest.Start(t, "", "")
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.SMTPHost, s.SMTPPort, s.SMTPMode, s.MailFrom = "127.0.0.1", dc.smtp.Port(), "none", "front@maple.example"
	if err := c.SaveSettings(ctx, System, s); err != nil {
		t.Fatal(err)
	}
	other, err := c.CreateStaff(ctx, dc.owner, StaffInput{Name: "Gone Owner", Email: "gone@maple.test", Role: RoleOwner, Password: "a-long-password-2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disabled := true
	if _, err := c.UpdateStaff(ctx, dc.owner, other.ID, StaffUpdate{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	return dc
}

// mails waits for the storage emails under way and returns all received.
func (dc *diskClinic) mails() []string {
	dc.c.storage.mailWG.Wait()
	return dc.smtp.Messages()
}

func (dc *diskClinic) newPatient(name string) error {
	_, err := dc.c.CreatePatient(context.Background(), dc.owner, PatientInput{Name: name, DOB: "1970-06-15"})
	return err
}

func (dc *diskClinic) firstPatient(t *testing.T) string {
	t.Helper()
	var id string
	err := dc.disk.View(context.Background(), func(tx store.Tx) error {
		return tx.Each(bucketPatients, "", func(k string, _ []byte) error { id = k; return store.ErrStop })
	})
	if err != nil || id == "" {
		t.Fatalf("no patient: %v", err)
	}
	return id
}

// A full disk: the write fails with ErrStorageFull (the disk's ENOSPC
// still in the chain), nothing is kept, the fault is on for /healthz, and
// the active owner is emailed once, whatever the number of refusals, with
// nothing of the patient in it.
func TestFullDiskIsSaidPlainlyAndMailedOnce(t *testing.T) {
	dc := newDiskClinic(t)
	ctx := context.Background()
	if err := dc.newPatient("Before Fullness"); err != nil {
		t.Fatal(err)
	}
	if f := dc.c.StorageFault(); f != nil {
		t.Fatalf("a fault before any refusal: %+v", f)
	}
	dc.disk.set(syscall.ENOSPC)
	for i := 0; i < 5; i++ {
		err := dc.newPatient(fmt.Sprintf("Canary Zebediah%d", i))
		if !errors.Is(err, ErrStorageFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write %d on a full disk: %v, want ErrStorageFull wrapping ENOSPC", i, err)
		}
		dc.clock.add(time.Second)
	}
	// Reads that write an audit event fail the same way: failing closed.
	if _, err := dc.c.Patient(ctx, dc.owner, dc.firstPatient(t)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("a read that audits, on a full disk: %v", err)
	}
	f := dc.c.StorageFault()
	if f == nil || f.Code != StorageFull || !strings.Contains(f.Reason, "storage is full") || f.Refusals < 5 {
		t.Fatalf("fault after refusals: %+v", f)
	}
	got := dc.mails()
	if len(got) != 1 {
		t.Fatalf("%d storage emails, want 1:\n%s", len(got), strings.Join(got, "\n----\n"))
	}
	m := got[0]
	for _, want := range []string{"To: o@maple.test", "the disk is full", "Free space", "Maple Street"} {
		if !strings.Contains(m, want) {
			t.Errorf("the storage email lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "Zebediah") || strings.Contains(m, "gone@maple.test") {
		t.Errorf("the storage email names a patient or goes to a disabled owner:\n%s", m)
	}

	// Space returns: a write goes through at once, but the fault holds
	// until writes have gone through for storageSettle.
	dc.disk.clear()
	if err := dc.newPatient("Right After"); err != nil {
		t.Fatal(err)
	}
	if dc.c.StorageFault() == nil {
		t.Fatal("the fault ended on the first write after a refusal; it should settle first")
	}
	dc.clock.add(storageSettle)
	// EveryMinute's probe ends it without any other write.
	if err := dc.c.EveryMinute(ctx); err != nil {
		t.Fatal(err)
	}
	if f := dc.c.StorageFault(); f != nil {
		t.Fatalf("the fault outlived a good write %v after the last refusal: %+v", storageSettle, f)
	}
	var n int
	if err := dc.disk.View(ctx, func(tx store.Tx) error { var err error; n, err = tx.Count(bucketPatients); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d patients stored, want the 2 acknowledged", n)
	}

	// The disk fills again within the hour: the same episode, no email.
	dc.disk.set(syscall.ENOSPC)
	if err := dc.newPatient("Again"); !errors.Is(err, ErrStorageFull) {
		t.Fatal(err)
	}
	if got := dc.mails(); len(got) != 1 {
		t.Fatalf("%d storage emails after a second refusal within the hour, want still 1", len(got))
	}
	// A quiet hour later it is a new episode, and a new email.
	dc.disk.clear()
	dc.clock.add(storageEpisodeGap + time.Minute)
	dc.disk.set(syscall.ENOSPC)
	if err := dc.newPatient("Much Later"); !errors.Is(err, ErrStorageFull) {
		t.Fatal(err)
	}
	if got := dc.mails(); len(got) != 2 {
		t.Fatalf("%d storage emails after a new episode, want 2", len(got))
	}
}

// A disk that refuses a write (EIO) is ErrStorageFailed, with its own
// words in the fault and the email.
func TestFailingDiskIsSaidPlainly(t *testing.T) {
	dc := newDiskClinic(t)
	dc.disk.set(syscall.EIO)
	err := dc.newPatient("Canary Io")
	if !errors.Is(err, ErrStorageFailed) || !errors.Is(err, syscall.EIO) || errors.Is(err, ErrStorageFull) {
		t.Fatalf("a write the disk refused: %v", err)
	}
	f := dc.c.StorageFault()
	if f == nil || f.Code != StorageFailed || !strings.Contains(f.Reason, "the disk refused a write") {
		t.Fatalf("fault: %+v", f)
	}
	got := dc.mails()
	if len(got) != 1 || !strings.Contains(got[0], "refused a write") || !strings.Contains(got[0], "restore the newest backup") {
		t.Fatalf("storage emails: %q", got)
	}
}

// The owner was emailed before a restart (the time saved in meta): the
// same episode after the restart sends no second email.
func TestStorageEmailSurvivesARestart(t *testing.T) {
	dc := newDiskClinic(t)
	ctx := context.Background()
	if err := dc.c.SetMeta(ctx, metaStorageMailed, dc.clock.now().Add(-10*time.Minute).UTC().Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	dc.disk.set(syscall.ENOSPC)
	if err := dc.newPatient("After Restart"); !errors.Is(err, ErrStorageFull) {
		t.Fatal(err)
	}
	if got := dc.mails(); len(got) != 0 {
		t.Fatalf("%d storage emails in an episode already mailed before the restart", len(got))
	}
}

// Other errors are not storage faults, and the disk's errors are found
// also when bbolt has flattened them into text.
func TestStorageFaultCode(t *testing.T) {
	cases := map[error]string{
		&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}:                                      StorageFull,
		fmt.Errorf("wrapped: %w", syscall.EDQUOT):                                                       StorageFull,
		errors.New("file resize error: truncate x: no space left on device"):                            StorageFull,
		errors.New(`ERROR: could not extend file "base/1/2": No space left on device (SQLSTATE 53100)`): StorageFull,
		&fs.PathError{Op: "sync", Path: "x", Err: syscall.EIO}:                                          StorageFailed,
		&fs.PathError{Op: "write", Path: "x", Err: syscall.EROFS}:                                       StorageFailed,
		ErrNotFound:              "",
		context.Canceled:         "",
		errors.New("store: bad"): "",
	}
	for err, want := range cases {
		if got := storageFaultCode(err); got != want {
			t.Errorf("storageFaultCode(%v) = %q, want %q", err, got, want)
		}
	}
}
