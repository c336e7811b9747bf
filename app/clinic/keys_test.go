package clinic

import (
	"bytes"
	"context"
	"encoding/binary"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"hearth/app/audit"
	"hearth/app/store"
)

// keyPart reads one documented piece off the front of a key and returns
// the rest, or false when the key does not start with such a piece.
type keyPart func(k []byte) ([]byte, bool)

var (
	uuidText = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hexRun   = regexp.MustCompile(`^[0-9a-f]+`)
)

// textID: a record id as text (UUID v4 or v7).
func textID(k []byte) ([]byte, bool) {
	m := uuidText.Find(k)
	if m == nil {
		return nil, false
	}
	_, err := uuid.ParseBytes(m)
	return k[len(m):], err == nil
}

// binID: a record id as its 16 bytes.
func binID(k []byte) ([]byte, bool) {
	if len(k) < 16 {
		return nil, false
	}
	u, err := uuid.FromBytes(k[:16])
	return k[16:], err == nil && (u.Version() == 4 || u.Version() == 7)
}

// instant: a big-endian Unix millisecond time, between 2000 and 2200.
func instant(k []byte) ([]byte, bool) {
	if len(k) < 8 {
		return nil, false
	}
	t := time.UnixMilli(int64(binary.BigEndian.Uint64(k[:8])))
	return k[8:], t.Year() >= 2000 && t.Year() < 2200
}

// hexN: n lower-case hex digits (a sequence number, a SHA-256 as text).
func hexN(n int) keyPart {
	return func(k []byte) ([]byte, bool) {
		m := hexRun.Find(k)
		return k[min(n, len(k)):], len(m) >= n
	}
}

// opaque: n bytes of a keyed HMAC or a hash (a blind token).
func opaque(n int) keyPart {
	return func(k []byte) ([]byte, bool) { return k[min(n, len(k)):], len(k) >= n }
}

// lit: exactly s.
func lit(s string) keyPart {
	return func(k []byte) ([]byte, bool) { return k[min(len(s), len(k)):], bytes.HasPrefix(k, []byte(s)) }
}

// oneOf: one of words (an enum: a queue, a status), nothing else.
func oneOf(words ...string) keyPart {
	return func(k []byte) ([]byte, bool) {
		for _, w := range words {
			if bytes.HasPrefix(k, []byte(w)) {
				return k[len(w):], true
			}
		}
		return nil, false
	}
}

// either: the first of ps that reads the key.
func either(ps ...keyPart) keyPart {
	return func(k []byte) ([]byte, bool) {
		for _, p := range ps {
			if rest, ok := p(k); ok {
				return rest, true
			}
		}
		return nil, false
	}
}

// aByte: one byte among allowed (a flag, a priority rank).
func aByte(allowed ...byte) keyPart {
	return func(k []byte) ([]byte, bool) {
		return k[min(1, len(k)):], len(k) >= 1 && bytes.IndexByte(allowed, k[0]) >= 0
	}
}

// TestEveryStoreKeyHasItsDocumentedForm (checklist 65): after a whole
// clinic day on a real bbolt file, every key of every bucket and index,
// taken one by one, reads as exactly the form ARCHITECTURE documents for
// it (record ids, hashes and HMAC tokens, sequence numbers, time prefixes,
// enum words), with nothing left over; so no key can hold a name, a birth
// date, a phone number, an email address or message text, and none of
// the day's canaries is found in any key.
func TestEveryStoreKeyHasItsDocumentedForm(t *testing.T) {
	ic, _ := mailClinic(t)
	runClinicDay(t, ic)
	var queues, statuses []string
	for _, q := range DefaultQueues() {
		queues = append(queues, q.ID)
	}
	queues = append(queues, UrgentQueue)
	statuses = []string{StatusNew, StatusOpen, StatusWaiting, StatusClosed}
	sep := lit("\x00")
	owner := either(textID, func(k []byte) ([]byte, bool) {
		rest, ok := lit("contact:")(k)
		if !ok {
			return nil, false
		}
		return textID(rest)
	})
	forms := map[string][]keyPart{
		// Records.
		bucketMessages:        {textID, lit(":"), hexN(6)},
		audit.EventsBucket:    {hexN(16)},
		audit.PendingBucket:   {hexN(16)},
		bucketEvents:          {hexN(16)},
		audit.HeadBucket:      {lit("head")},
		bucketSessions:        {hexN(64)},
		bucketContactSessions: {hexN(64)},
		bucketSignInLinks:     {hexN(64)},
		bucketQueueCounts:     {oneOf(queues...)},
		bucketSettings:        {lit("clinic")},
		// Indexes.
		ixApptExternal:      {opaque(32)},
		ixApptPatient:       {textID, sep, instant, binID},
		ixApptTime:          {instant, binID},
		audit.PatientIndex:  {textID, sep, hexN(16)},
		ixBreakGlassByStaff: {textID, sep, textID, sep, instant},
		ixContactByToken:    {opaque(32)},
		ixDeviceToken:       {opaque(32)},
		ixInviteCode:        {opaque(32)},
		ixDeviceByPatient:   {textID, sep, binID},
		ixOwner:             {owner, sep, instant, binID},
		ixQueue:             {oneOf(queues...), sep, aByte(0, 1), aByte(0, 1, 2, 3), instant, binID},
		ixStatus:            {oneOf(statuses...), sep, aByte(0, 1, 2, 3), instant, binID},
		ixOpenDue:           {instant, oneOf(queues...), sep, binID},
		ixOutboxDue:         {instant, binID},
		ixPatientSearch:     {opaque(16), binID},
		ixStaffEmail:        {opaque(16)},
		// Reaching out and a clinic group's own certificate.
		bucketOnCall:    {lit("rota")},
		bucketCertFiles: {hexN(32)},
		bucketCertLocks: {hexN(32)},
		ixScheduledDue:  {instant, binID},
		ixPagesDue:      {instant, binID},
		ixNoticeOpen:    {binID},
		ixNoticeSent:    {binID, binID, either(binID, lit(""))},
		// Text messages: a keyed hash of a number, a hash of a gateway's id.
		bucketTextStops: {hexN(32)},
		bucketTextSeen:  {hexN(64)},
		ixOutboxSID:     {opaque(32)},
		ixOutboxItem:    {binID, binID},
		ixOutboxRecent:  {binID},
	}
	for _, b := range []string{bucketAppts, bucketBreakGlass, bucketContacts, bucketDevices, bucketFiles, bucketInvites,
		bucketItemMeta, bucketItems, bucketOutbox, bucketOverdue, bucketPatients, bucketStaff, bucketScheduled, bucketNotices, bucketPages} {
		forms[b] = []keyPart{textID}
	}
	// The meta bucket's keys are the code's own names for its facts.
	metaName := regexp.MustCompile(`^[a-z][a-z_]{1,39}$`)
	for _, e := range Schema() {
		if _, ok := forms[e.Name]; !ok && e.Kind != Counter && e.Name != MetaBucket {
			t.Errorf("the test knows no key form for %q: add its documented form here", e.Name)
		}
	}
	canaries := []string{"Cleo", "Example", "cleo@example.com", "example.com", "1975-03-04", "19750304", "03/04/1975",
		"Dee Contact", "555-201-9999", "5552019999", "1990-02-03", "Rash", "rash", "letter", "Ada", "1970-06-15", "Bo Ex", "1980-01-01"}
	checked := map[string]int{}
	err := ic.st.Export(context.Background(), func(e store.Entry) error {
		if e.Kind == store.KindSeq {
			return nil
		}
		for _, c := range canaries {
			if bytes.Contains(e.Key, []byte(c)) {
				t.Errorf("%s key %q holds %q", e.Name, e.Key, c)
			}
		}
		checked[e.Name]++
		if e.Name == MetaBucket {
			if !metaName.Match(e.Key) {
				t.Errorf("meta key %q is not a name of the code's", e.Key)
			}
			return nil
		}
		form, ok := forms[e.Name]
		if !ok {
			t.Errorf("%s: no documented key form", e.Name)
			return nil
		}
		rest := e.Key
		for i, p := range form {
			var ok bool
			if rest, ok = p(rest); !ok {
				t.Errorf("%s key %q: piece %d of its form does not read", e.Name, e.Key, i+1)
				return nil
			}
		}
		if len(rest) != 0 {
			t.Errorf("%s key %q: %q left over after its documented form", e.Name, e.Key, rest)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range checked {
		total += n
	}
	if len(checked) < 30 || total < 120 {
		t.Fatalf("only %d keys in %d buckets and indexes checked: the day wrote too little", total, len(checked))
	}
	t.Logf("%d keys in %d buckets and indexes read as their documented forms", total, len(checked))
}
