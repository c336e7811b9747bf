package clinic

// A clinic group runs several nodes on one shared store. Each node keeps
// some records in memory so a request costs no disk read (sessions, staff,
// patients, devices, settings). When a node changes one of those, it tells
// the others through Peers, and they drop their copy; the next read comes
// from the store. A node that may have missed such news (its connection to
// the database dropped) drops everything with ForgetAll.
//
// Items need none of this: the item cache is checked against the plain
// record's update time on every read.

// The kinds of record a node remembers.
const (
	ChangedSession  = "session"  // id: the session's key (a hash of its token)
	ChangedStaff    = "staff"    // id: staff id
	ChangedPatient  = "patient"  // id: patient id
	ChangedDevices  = "devices"  // all devices (a revocation)
	ChangedSettings = "settings" // the clinic's settings
)

// Peers hears, after the commit, what this node changed that other nodes
// may hold in memory. Kinds and ids carry no PHI. Nil on a single node.
type Peers interface {
	Changed(kind, id string)
}

func (c *Clinic) changed(kind, id string) {
	if c.peers != nil {
		c.peers.Changed(kind, id)
	}
}

// Forget drops this node's copy of what another node changed.
func (c *Clinic) Forget(kind, id string) {
	switch kind {
	case ChangedSession:
		c.sessions.mu.Lock()
		delete(c.sessions.m, id)
		c.sessions.mu.Unlock()
	case ChangedStaff:
		c.staffMu.Lock()
		delete(c.staffCache, id)
		c.staffMu.Unlock()
	case ChangedPatient:
		c.patients.drop(id)
	case ChangedDevices:
		c.devices.clear()
	case ChangedSettings:
		c.settings.Store(nil)
	default:
		c.ForgetAll()
	}
}

// ForgetAll drops every remembered record (after news may have been lost).
func (c *Clinic) ForgetAll() {
	c.sessions.mu.Lock()
	c.sessions.m = map[string]*Session{}
	c.sessions.mu.Unlock()
	c.staffMu.Lock()
	c.staffCache = map[string]Staff{}
	c.staffMu.Unlock()
	c.patients.clear()
	c.devices.clear()
	c.items.clear()
	c.settings.Store(nil)
}
