package clinic

import (
	"context"
	"time"

	"hearth/app/vault"
)

// A record that does not open (a flipped byte, a truncated value, a
// ciphertext copied under another id or patient) is never shown: the read
// fails with the vault's integrity error. It is also a security event, so
// it writes a high-severity audit event naming the bucket and id (and the
// patient id the caller asked under), never any content.
//
// The read that meets the damage is usually inside a read transaction, which
// cannot write, so the event is written in its own transaction, from its own
// goroutine: it waits for the store's writer and never for the read. Each
// damaged record is audited once per process, so a list that meets the same
// record on every refresh does not flood the audit log; every meeting is
// still logged at error level.

// damageAuditTimeout bounds the wait for the store when writing the event.
const damageAuditTimeout = 30 * time.Second

// reportDamaged logs a record that failed to open and, the first time in
// this process, audits it.
func (c *Clinic) reportDamaged(ref vault.Ref, err error) {
	c.log.Error("record failed to open", "bucket", ref.Bucket, "id", ref.ID, "err", err)
	if _, seen := c.damaged.LoadOrStore(ref.Bucket+"/"+ref.ID, true); seen {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), damageAuditTimeout)
		defer cancel()
		c.auditFailure(ctx, System, AuditEvent{Action: "record.open", Object: ref.Bucket + ":" + ref.ID, Patient: ref.Patient, Outcome: "damaged"})
	}()
}
