package clinic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"hearth/app/i18n"
	"hearth/app/store"
	"hearth/app/vault"
)

// Certificate files: what Hearth's own HTTPS needs to keep when it gets its
// certificate from an ACME CA (app/tlsauto) and the nodes of a clinic group
// share one store: the certificates, their private keys and the ACME
// account. Each file is a sealed record (the private keys are secrets like
// any record), its id a hash of its name, so no name (a domain, the
// account's email) is a store key. The locks that keep two nodes from
// ordering the same certificate at once are plain records with an expiry,
// taken inside a write transaction: the store's writes are serial across
// nodes (pgstore's write lock), so a read-then-write is atomic.
//
// A single node keeps these files under its data folder instead (tlsauto's
// file storage); nothing here is used then.

// CertFile is one stored file of the ACME state.
type CertFile struct {
	Key      string    `json:"key"`
	Value    []byte    `json:"value"`
	Modified time.Time `json:"modified"`
}

// certLock is a lock record: who holds it, until when.
type certLock struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

func certFileID(key string) string {
	h := sha256.Sum256([]byte("hearth cert file\x00" + key))
	return hex.EncodeToString(h[:16])
}

// CertFile reads the file key, or ErrNotFound. It needs the vault
// unlocked (ErrLocked otherwise).
func (c *Clinic) CertFile(ctx context.Context, key string) (CertFile, error) {
	var f CertFile
	err := c.st.View(ctx, func(tx store.Tx) error {
		return c.open(tx, vault.RefNoPatient(bucketCertFiles, certFileID(key)), &f)
	})
	if err != nil {
		return CertFile{}, err
	}
	if f.Key != key {
		return CertFile{}, ErrNotFound
	}
	return f, nil
}

// PutCertFile stores value as the file key, replacing any earlier one.
func (c *Clinic) PutCertFile(ctx context.Context, key string, value []byte) error {
	id := certFileID(key)
	sealed, err := c.seal(vault.RefNoPatient(bucketCertFiles, id), CertFile{Key: key, Value: value, Modified: c.now().UTC()})
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucketCertFiles, id, sealed) })
}

// CertFiles lists the stored files whose names start with prefix, with
// their contents. The bucket holds a handful of files, so it is read whole.
func (c *Clinic) CertFiles(ctx context.Context, prefix string) ([]CertFile, error) {
	var out []CertFile
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketCertFiles, "", func(id string, raw []byte) error {
			var f CertFile
			if err := c.openRaw(vault.RefNoPatient(bucketCertFiles, id), raw, &f); err != nil {
				return err
			}
			if strings.HasPrefix(f.Key, prefix) {
				out = append(out, f)
			}
			return nil
		})
	})
	return out, err
}

// DeleteCertFiles removes the file key and every file under key + "/".
func (c *Clinic) DeleteCertFiles(ctx context.Context, key string) error {
	files, err := c.CertFiles(ctx, key)
	if err != nil {
		return err
	}
	var ids []string
	for _, f := range files {
		if f.Key == key || strings.HasPrefix(f.Key, strings.TrimSuffix(key, "/")+"/") {
			ids = append(ids, certFileID(f.Key))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.Delete(bucketCertFiles, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// TryCertLock takes the lock name for holder until ttl from now, or
// extends it when holder has it already. It reports false when another
// holder has it and its time has not run out (a node that died lets its
// locks lapse).
func (c *Clinic) TryCertLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	id := certFileID("lock\x00" + name)
	got := false
	err := c.st.Update(ctx, func(tx store.Tx) error {
		got = false
		now := c.now()
		if raw, err := tx.Get(bucketCertLocks, id); err == nil {
			var l certLock
			if json.Unmarshal(raw, &l) == nil && l.Holder != holder && now.Before(l.Expires) {
				return nil
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		b, err := json.Marshal(certLock{Holder: holder, Expires: now.Add(ttl).UTC()})
		if err != nil {
			return err
		}
		got = true
		return tx.Put(bucketCertLocks, id, b)
	})
	return got && err == nil, err
}

// CertUnlock releases the lock name if holder has it.
func (c *Clinic) CertUnlock(ctx context.Context, name, holder string) error {
	id := certFileID("lock\x00" + name)
	return c.st.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.Get(bucketCertLocks, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var l certLock
		if json.Unmarshal(raw, &l) == nil && l.Holder != holder {
			return nil
		}
		return tx.Delete(bucketCertLocks, id)
	})
}

// metaCertMailed names the certificate whose coming expiry the owners were
// told of ("domain serial"), so each is mailed about once.
const metaCertMailed = "cert_expiry_mailed"

// MailOwnersCertExpiry queues one email to every active owner saying that
// the HTTPS certificate for domain ends at expires and renewing it keeps
// failing (why, in plain words). It does so once per certificate (serial),
// across restarts and nodes: the marker and the emails are written in one
// transaction. It reports whether it queued anything. The email names the
// clinic, the domain and what to do; nothing else.
func (c *Clinic) MailOwnersCertExpiry(ctx context.Context, domain, serial string, expires time.Time, why string) (bool, error) {
	s, err := c.Settings(ctx)
	if err != nil {
		return false, err
	}
	if !s.MailReady() {
		c.log.Warn("HTTPS CERTIFICATE: no mail server is set up (Settings, Email), so the owner could not be emailed that the certificate ends soon", "domain", domain)
		return false, nil
	}
	marker := domain + " " + serial
	if done, err := c.Meta(ctx, metaCertMailed); err != nil || done == marker {
		return false, err
	}
	staff, err := c.ListStaff(ctx, System)
	if err != nil {
		return false, err
	}
	tr, err := c.mailTr(s, i18n.Default) // to the owner, who reads the console's language
	if err != nil {
		return false, err
	}
	when := expires.In(s.Location()).Format("Monday 2 January 2006, 15:04 MST")
	now := c.now().UTC()
	type queued struct {
		m      OutMail
		sealed []byte
	}
	var out []queued
	for _, st := range staff {
		if st.Role != RoleOwner || st.Disabled || st.Email == "" {
			continue
		}
		m := OutMail{ID: newTimeID(), To: st.Email, State: MailQueued, NextAt: now, Created: now,
			Subject: tr.T("mail.cert.subject", "clinic", s.ClinicName),
			Body:    tr.T("mail.cert.body", "clinic", s.ClinicName, "domain", domain, "expires", when, "why", why)}
		sealed, err := c.seal(outboxRef(m), m)
		if err != nil {
			return false, err
		}
		out = append(out, queued{m, sealed})
	}
	if len(out) == 0 {
		return false, nil
	}
	sent := false
	err = c.st.Update(ctx, func(tx store.Tx) error {
		sent = false
		if done, err := getMeta(tx, metaCertMailed); err != nil || done == marker {
			return err
		}
		for i := range out {
			if err := putOutMail(tx, &out[i].m, out[i].sealed, nil); err != nil {
				return err
			}
		}
		sent = true
		return tx.Put(MetaBucket, metaCertMailed, []byte(marker))
	})
	return sent && err == nil, err
}
