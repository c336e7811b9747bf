package clinic

import (
	"context"
	"errors"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Device is a remembered browser.
type Device struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patient_id"`
	Caregiver string    `json:"caregiver,omitempty"`
	Label     string    `json:"label"` // "Android phone, Chrome"
	Shared    bool      `json:"shared"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   bool      `json:"revoked,omitempty"`
}

func deviceActor(d Device, client string) Actor {
	if d.Caregiver != "" {
		return Actor{Kind: ActorCaregiver, ID: d.ID, Patient: d.PatientID, Client: client}
	}
	return Actor{Kind: ActorPatient, ID: d.PatientID, Patient: d.PatientID, Client: client}
}

// ErrDeviceUnknown: the cookie names no live device.
var ErrDeviceUnknown = errors.New("clinic: this device is not signed in")

// DeviceFor checks a device cookie and returns the device and the actor it
// speaks as.
func (c *Clinic) DeviceFor(ctx context.Context, token, client string) (Device, Actor, error) {
	if token == "" {
		return Device{}, Actor{}, ErrDeviceUnknown
	}
	key := string(hashKey(token))
	if d, ok := c.devices.get(key); ok {
		if d.Revoked || c.now().After(d.Expires) {
			return Device{}, Actor{}, ErrDeviceUnknown
		}
		return d, deviceActor(d, client), nil
	}
	var d Device
	err := c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixDeviceToken, []byte(key))
		if err != nil {
			return err
		}
		return c.open(tx, vault.RefAnyPatient(bucketDevices, id), &d)
	})
	if err != nil || d.Revoked || c.now().After(d.Expires) {
		return Device{}, Actor{}, ErrDeviceUnknown
	}
	c.devices.put(key, d)
	return d, deviceActor(d, client), nil
}

// Devices lists the devices signed in to a patient's record (the patient
// sees theirs; staff see any patient's).
func (c *Clinic) Devices(ctx context.Context, a Actor, patientID string) ([]Device, error) {
	if err := c.mayReadPatient(a, patientID); err != nil && a.Kind != ActorCaregiver {
		return nil, err
	}
	if (a.Kind == ActorPatient || a.Kind == ActorCaregiver) && a.Patient != patientID {
		return nil, ErrNotFound
	}
	var out []Device
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixDeviceByPatient, store.Range{Prefix: append([]byte(patientID), 0)}, func(_ []byte, id string) error {
			var d Device
			if err := c.open(tx, vault.NewRef(bucketDevices, id, patientID), &d); err != nil {
				return err
			}
			if !d.Revoked && c.now().Before(d.Expires) {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// RevokeDevice signs a device out: the patient for their own devices, staff
// for any (revoking a caregiver's access).
func (c *Clinic) RevokeDevice(ctx context.Context, a Actor, deviceID string) error {
	if !validItemID(deviceID) {
		return ErrNotFound
	}
	var d Device
	var raw []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if raw, err = tx.Get(bucketDevices, deviceID); err != nil {
			return ErrNotFound
		}
		return c.openRaw(vault.RefAnyPatient(bucketDevices, deviceID), raw, &d)
	})
	if err != nil {
		return err
	}
	switch a.Kind {
	case ActorStaff:
	case ActorPatient:
		if d.PatientID != a.Patient {
			return ErrNotFound
		}
	case ActorCaregiver:
		if d.ID != a.ID {
			return ErrNotFound
		}
	default:
		return ErrNotFound
	}
	d.Revoked = true
	sealed, err := c.seal(vault.NewRef(bucketDevices, d.ID, d.PatientID), d)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketDevices, d.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "device.revoke", "device:"+d.ID, d.PatientID)
	})
	c.devices.clear()
	c.changed(ChangedDevices, "")
	return err
}
