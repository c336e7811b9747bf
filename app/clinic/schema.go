package clinic

import (
	"slices"

	"hearth/app/audit"
)

// The schema: every bucket, index and counter Hearth keeps in its store, in
// one table. Code names them only through these constants; Verify,
// `hearth migrate-store` and the tests walk the table, and a test fails if
// the clinic writes a name the table does not list.
//
// Sealed buckets hold age records bound to (bucket, id, patient). Plain
// buckets hold values in the clear, so they may carry ids, times, counts,
// enums and hashes, never PHI. An index is named "<bucket>.<what>" and points
// at ids of records in that bucket (store.IndexBucket).

// Sealed buckets.
const (
	bucketSettings   = "settings"
	bucketStaff      = "staff"
	bucketPatients   = "patients"
	bucketItems      = "items"
	bucketMessages   = "messages"
	bucketInvites    = "invites"
	bucketDevices    = "devices"
	bucketContacts   = "contacts"
	bucketBreakGlass = "breakglass"
	bucketFiles      = "files"
	bucketOutbox     = "outbox"
	bucketAppts      = "appointments"
	bucketCertFiles  = "cert_files"

	// Reaching out (conversation.go, notice.go, oncall.go).
	bucketScheduled = "scheduled"
	bucketNotices   = "notices"
	bucketOnCall    = "oncall"
	bucketPages     = "pages"
)

// MetaBucket is the plain bucket for non-PHI facts about the database
// itself: its schema version, the clinic recipient its records are sealed
// to, when it was made.
const MetaBucket = "meta"

// Plain buckets.
const (
	bucketItemMeta        = "itemmeta"
	bucketQueueCounts     = "qcounts"
	bucketSessions        = "sessions"
	bucketContactSessions = "contact_sessions"
	bucketSignInLinks     = "signin_links"
	bucketOverdue         = "overdue"
	bucketEvents          = "events"
	bucketCertLocks       = "cert_locks"
	bucketTextStops       = "sms_stops"
	bucketTextSeen        = "sms_seen"
)

// Indexes.
const (
	ixStaffEmail        = "staff.by_email"
	ixPatientSearch     = "patients.search"
	ixInviteCode        = "invites.by_code"
	ixDeviceToken       = "devices.by_token"
	ixDeviceByPatient   = "devices.by_patient"
	ixContactByToken    = "contacts.by_token"
	ixBreakGlassByStaff = "breakglass.by_staff"
	ixQueue             = "itemmeta.by_queue"
	ixStatus            = "itemmeta.by_status"
	ixOwner             = "itemmeta.by_owner"
	ixOpenDue           = "itemmeta.open_due"
	ixOutboxDue         = "outbox.due"
	ixApptTime          = "appointments.by_time"
	ixApptPatient       = "appointments.by_patient"
	ixApptExternal      = "appointments.by_external"
	ixOutboxSID         = "outbox.by_sid"
	ixOutboxItem        = "outbox.by_item"
	ixOutboxRecent      = "outbox.recent"

	// Reaching out (conversation.go, notice.go, oncall.go).
	ixScheduledDue = "scheduled.due"
	ixNoticeSent   = "notices.sent"
	ixNoticeOpen   = "notices.open"
	ixPagesDue     = "pages.due"
)

// Counters (store.Tx.NextSeq).
const seqEvents = bucketEvents

// SchemaKind says what a name in the schema is.
type SchemaKind uint8

// The kinds of name in the schema.
const (
	SealedBucket SchemaKind = iota + 1 // a bucket of sealed records
	PlainBucket                        // a bucket of values in the clear (no PHI)
	Index                              // an index of keys pointing at record ids
	Counter                            // a monotonic counter (NextSeq)
)

func (k SchemaKind) String() string {
	switch k {
	case SealedBucket:
		return "sealed bucket"
	case PlainBucket:
		return "plain bucket"
	case Index:
		return "index"
	case Counter:
		return "counter"
	}
	return "unknown"
}

// SchemaEntry is one row of the schema: a name in the store, what kind of
// thing it is, and what it holds.
type SchemaEntry struct {
	Name  string
	Kind  SchemaKind
	Holds string
}

var schema = []SchemaEntry{
	{bucketSettings, SealedBucket, "the clinic's settings (one record, id \"clinic\")"},
	{bucketStaff, SealedBucket, "staff members: name, email, role, password hash"},
	{bucketPatients, SealedBucket, "patients: name, birth date, contact details, consents"},
	{bucketItems, SealedBucket, "inbox items: a request or message thread's subject and fields"},
	{bucketMessages, SealedBucket, "the messages of every item's thread"},
	{bucketInvites, SealedBucket, "invites that let a patient or caregiver register a device"},
	{bucketDevices, SealedBucket, "registered patient and caregiver devices"},
	{bucketContacts, SealedBucket, "unverified contacts who wrote in before being linked to a patient"},
	{bucketBreakGlass, SealedBucket, "break-glass grants: a clinician's emergency access to a patient"},
	{bucketFiles, SealedBucket, "attachments: photos and PDFs sent with a message"},
	{bucketOutbox, SealedBucket, "outgoing email and text messages until sent"},
	{bucketAppts, SealedBucket, "appointments"},
	{bucketCertFiles, SealedBucket, "a clinic group's own HTTPS certificates, their keys and the ACME account (--domain), by a hash of their name"},
	{bucketScheduled, SealedBucket, "conversations staff wrote to be sent later, until they are sent"},
	{bucketNotices, SealedBucket, "notices to many patients: subject, body, recipients"},
	{bucketOnCall, SealedBucket, "the on-call rota (one record, id \"rota\")"},
	{bucketPages, SealedBucket, "pages to the on-call person for an urgent request after hours, with their escalation"},

	{MetaBucket, PlainBucket, "the database's schema version, recipient, creation time, setup and sweep markers, plain settings copy, import mapping"},
	{bucketItemMeta, PlainBucket, "each item's routing facts: queue, status, priority, owner, due time"},
	{bucketQueueCounts, PlainBucket, "each queue's open, new and urgent counts"},
	{bucketSessions, PlainBucket, "staff sessions, keyed by the SHA-256 of the cookie token"},
	{bucketContactSessions, PlainBucket, "contact sessions, keyed by the SHA-256 of the cookie token"},
	{bucketSignInLinks, PlainBucket, "emailed sign-in links, keyed by the SHA-256 of the token"},
	{bucketOverdue, PlainBucket, "which overdue items were announced, and at which stage"},
	{bucketEvents, PlainBucket, "the event log staff browsers catch up from (ids and routing facts)"},
	{audit.EventsBucket, PlainBucket, "the audit trail: chained, MAC'd events"},
	{audit.PendingBucket, PlainBucket, "audit events written while locked, chained at unlock"},
	{audit.HeadBucket, PlainBucket, "the audit chain's head: last sequence and MAC"},
	{bucketCertLocks, PlainBucket, "which node is ordering or renewing the HTTPS certificate, until when"},
	{bucketTextStops, PlainBucket, "numbers that texted STOP, keyed by a keyed hash of the number"},
	{bucketTextSeen, PlainBucket, "inbound texts already handled, keyed by the SHA-256 of the gateway's message id"},

	{ixStaffEmail, Index, "staff by blind-indexed email"},
	{ixPatientSearch, Index, "patients by blind-indexed name prefixes and birth date"},
	{ixInviteCode, Index, "invites by the hash of their code"},
	{ixDeviceToken, Index, "devices by the hash of their token"},
	{ixDeviceByPatient, Index, "devices by patient"},
	{ixContactByToken, Index, "contacts by the hash of their private link's token"},
	{ixBreakGlassByStaff, Index, "break-glass grants by clinician and patient"},
	{ixQueue, Index, "items by queue, priority and time"},
	{ixStatus, Index, "items by status and time"},
	{ixOwner, Index, "items by patient or contact"},
	{ixOpenDue, Index, "open items by due time"},
	{ixOutboxDue, Index, "outgoing messages by next attempt time"},
	{ixApptTime, Index, "appointments by start time"},
	{ixApptPatient, Index, "appointments by patient"},
	{ixApptExternal, Index, "appointments by the hash of an imported external id"},
	{audit.PatientIndex, Index, "audit events by patient"},
	{ixOutboxSID, Index, "sent texts by the SHA-256 of the gateway's or modem's message id (delivery reports)"},
	{ixOutboxItem, Index, "outgoing messages by the item they are about (the item's timeline)"},
	{ixOutboxRecent, Index, "outgoing messages newest last (the owner's outbox view)"},
	{ixScheduledDue, Index, "scheduled conversations by send time"},
	{ixNoticeSent, Index, "each notice's conversations: notice, patient and item ids"},
	{ixNoticeOpen, Index, "notices whose conversations are still being made"},
	{ixPagesDue, Index, "unacknowledged pages by the time they escalate"},

	{seqEvents, Counter, "the event log's sequence"},
	{audit.EventsSeq, Counter, "the audit chain's sequence"},
	{audit.PendingSeq, Counter, "the pending audit events' sequence"},
}

// Schema returns every name Hearth keeps in its store, with what it holds.
func Schema() []SchemaEntry { return slices.Clone(schema) }

// SealedBuckets lists every bucket whose values are sealed records.
func SealedBuckets() []string { return schemaNames(SealedBucket) }

// Indexes lists every index; each points at records of store.IndexBucket(name).
func Indexes() []string { return schemaNames(Index) }

func schemaNames(k SchemaKind) []string {
	var out []string
	for _, e := range schema {
		if e.Kind == k {
			out = append(out, e.Name)
		}
	}
	return out
}
