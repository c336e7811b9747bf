package smstest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wsms "github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Modem is a GSM modem simulated on a pseudo-terminal. It answers the AT
// conversation a real one does (ATZ, ATE0, AT+CMEE, AT+CMGF, AT+CNMI,
// AT+CPIN?, AT+CSQ, AT+CMGS with a PDU and Ctrl-Z, AT+CMGR, AT+CMGL,
// AT+CMGD), decodes the PDUs it is sent (joining concatenated parts), stores
// the texts it receives as SMS-DELIVER PDUs and announces them with +CMTI
// (or hands them over with +CMT), and sends +CDS delivery reports when told.
type Modem struct {
	t    testing.TB
	link string // Device(): a symlink to the current pseudo-terminal

	wmu sync.Mutex // one write to the line at a time

	mu       sync.Mutex
	master   *os.File
	slave    *os.File
	served   chan struct{} // closed when the current line's reader ends
	plugged  bool
	sim, pin bool
	rssi     int
	failNext int  // sends to refuse with +CMS ERROR
	direct   bool // hand texts over with +CMT whatever AT+CNMI asked
	mute     bool // hear commands but answer none, as a hung modem
	keep     bool // refuse AT+CMGD

	// What the host set (reset by ATZ and by replugging).
	echo    bool
	pduMode bool
	cmee    int
	cnmiMT  int // 1: store and send +CMTI; 2: send +CMT
	cnmiDS  int // 1: send +CDS

	commands []string
	parts    map[string][]*tpdu.TPDU // sent concatenated texts being joined
	partMRs  map[string][]int
	sent     []Text
	store    map[int]stored
	nextIdx  int
	mr       int
	ref      wsms.Counter // concatenation references of delivered texts
}

type stored struct {
	hex string
	n   int // TPDU length
}

// Text is one text the host sent, joined from its parts.
type Text struct {
	To    string
	Body  string
	UCS2  bool
	Parts int
	MRs   []int // the message reference the modem answered for each part
	SRR   bool  // a delivery report was asked for
}

// NewModem starts a simulated modem with a SIM, no PIN and a good signal.
func NewModem(t testing.TB) *Modem {
	m := &Modem{
		t:       t,
		link:    filepath.Join(t.TempDir(), "ttyUSB0"),
		sim:     true,
		rssi:    20,
		parts:   map[string][]*tpdu.TPDU{},
		partMRs: map[string][]int{},
		store:   map[int]stored{},
		nextIdx: 1,
	}
	m.Replug()
	t.Cleanup(m.Unplug)
	return m
}

// Device is the serial port to open: a path that stays the same across
// Unplug and Replug, as /dev/serial/by-id/... does for a real modem.
func (m *Modem) Device() string { return m.link }

// Unplug pulls the modem out: the line hangs up and the device vanishes.
func (m *Modem) Unplug() {
	m.mu.Lock()
	if !m.plugged {
		m.mu.Unlock()
		return
	}
	m.plugged = false
	master, slave, served := m.master, m.slave, m.served
	m.mu.Unlock()
	if err := os.Remove(m.link); err != nil {
		m.t.Errorf("smstest: unplug: %v", err)
	}
	if err := master.Close(); err != nil {
		m.t.Errorf("smstest: unplug: %v", err)
	}
	if err := slave.Close(); err != nil {
		m.t.Errorf("smstest: unplug: %v", err)
	}
	<-served
}

// Replug puts the modem back (on a new pseudo-terminal behind the same
// Device path), freshly powered: echo on, text mode, no indications set.
func (m *Modem) Replug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.plugged {
		return
	}
	master, slave, path, err := openPTY()
	if err != nil {
		m.t.Fatalf("smstest: open a pseudo-terminal: %v", err)
	}
	if err := os.Symlink(path, m.link); err != nil {
		m.t.Fatalf("smstest: %v", err)
	}
	m.master, m.slave, m.plugged = master, slave, true
	m.reset()
	m.served = make(chan struct{})
	go m.serve(master, m.served)
}

func (m *Modem) reset() {
	m.echo, m.pduMode, m.cmee, m.cnmiMT, m.cnmiDS = true, false, 0, 0, 0
}

// SetSIM puts a SIM in or takes it out.
func (m *Modem) SetSIM(present bool) { m.mu.Lock(); m.sim = present; m.mu.Unlock() }

// SetPIN locks the SIM behind its PIN, or unlocks it.
func (m *Modem) SetPIN(locked bool) { m.mu.Lock(); m.pin = locked; m.mu.Unlock() }

// SetSignal sets what AT+CSQ answers (0..31; 99 is "not known", as with no
// network). With 0 or 99 a send fails with "no network service".
func (m *Modem) SetSignal(rssi int) { m.mu.Lock(); m.rssi = rssi; m.mu.Unlock() }

// SetDirect makes received texts come whole in +CMT indications, never
// stored, as some modems do for some texts whatever AT+CNMI asked.
func (m *Modem) SetDirect(on bool) { m.mu.Lock(); m.direct = on; m.mu.Unlock() }

// Mute makes the modem hang: it takes commands and answers none, until
// Mute(false).
func (m *Modem) Mute(on bool) { m.mu.Lock(); m.mute = on; m.mu.Unlock() }

// RefuseDeletes makes AT+CMGD fail, so read texts stay on the SIM.
func (m *Modem) RefuseDeletes(on bool) { m.mu.Lock(); m.keep = on; m.mu.Unlock() }

// FailSends makes the next n sends fail with +CMS ERROR: 500.
func (m *Modem) FailSends(n int) { m.mu.Lock(); m.failNext = n; m.mu.Unlock() }

// Commands answers every command line received, in order (PDUs not
// included).
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.commands)
}

// Sent answers the texts sent so far, each joined from its parts.
func (m *Modem) Sent() []Text {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// WaitSent waits up to ten seconds for at least n texts and answers them.
func (m *Modem) WaitSent(t testing.TB, n int) []Text {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := m.Sent()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("smstest: the modem sent %d texts, want %d", len(s), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stored answers how many received parts are still on the SIM (the host
// deletes each after reading it).
func (m *Modem) Stored() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.store)
}

// Deliver makes a text from the number from arrive: encoded as SMS-DELIVER
// PDUs (GSM 7-bit or UCS-2, concatenated when long), stored on the SIM and
// announced with +CMTI for each part, or handed over with +CMT, as the host
// set AT+CNMI. Unplugged, the text waits on the SIM.
func (m *Modem) Deliver(from, body string) {
	m.deliver(from, body, false)
}

// DeliverReversed is Deliver with the parts of a long text arriving last
// first, as networks sometimes do.
func (m *Modem) DeliverReversed(from, body string) {
	m.deliver(from, body, true)
}

func (m *Modem) deliver(from, body string, reversed bool) {
	template, err := tpdu.NewDeliver()
	if err != nil {
		m.t.Fatal(err)
	}
	template.SCTS = tpdu.Timestamp{Time: time.Now()}
	enc := wsms.NewEncoder(wsms.WithTemplate(*template))
	enc.ConcatRef = &m.ref
	pdus, err := enc.Encode([]byte(body), wsms.From(from))
	if err != nil {
		m.t.Fatalf("smstest: encode: %v", err)
	}
	if reversed {
		slices.Reverse(pdus)
	}
	for _, p := range pdus {
		b, err := p.MarshalBinary()
		if err != nil {
			m.t.Fatalf("smstest: encode: %v", err)
		}
		smsc := pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber("+15005550000"))}
		h, err := (&pdumode.PDU{SMSC: smsc, TPDU: b}).MarshalHexString()
		if err != nil {
			m.t.Fatalf("smstest: encode: %v", err)
		}
		m.mu.Lock()
		mt, plugged := m.cnmiMT, m.plugged
		if m.direct && mt != 0 {
			mt = 2
		}
		var line string
		if mt == 2 && plugged {
			line = fmt.Sprintf("\r\n+CMT: ,%d\r\n%s\r\n", len(b), h)
		} else {
			idx := m.nextIdx
			m.nextIdx++
			m.store[idx] = stored{hex: h, n: len(b)}
			if mt == 1 && plugged {
				line = fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n", idx)
			}
		}
		m.mu.Unlock()
		if line != "" {
			m.write(line)
		}
	}
}

// Report sends a +CDS delivery report for every part of the text, saying it
// reached the phone (delivered) or not, if the host asked for reports.
func (m *Modem) Report(text Text, delivered bool) {
	m.mu.Lock()
	ds := m.cnmiDS
	m.mu.Unlock()
	if ds != 1 {
		m.t.Fatalf("smstest: the host did not ask for delivery reports (AT+CNMI ds=%d)", ds)
	}
	st := byte(0x00)
	if !delivered {
		st = 0x41 // permanent error: incompatible destination
	}
	for _, mr := range text.MRs {
		t := tpdu.TPDU{MR: byte(mr), RA: tpdu.NewAddress(tpdu.FromNumber(text.To)),
			SCTS: tpdu.Timestamp{Time: time.Now()}, DT: tpdu.Timestamp{Time: time.Now()}, ST: st}
		err := t.SetSmsType(tpdu.SmsStatusReport)
		if err != nil {
			m.t.Fatalf("smstest: report: %v", err)
		}
		b, err := t.MarshalBinary()
		if err != nil {
			m.t.Fatalf("smstest: report: %v", err)
		}
		h, err := (&pdumode.PDU{TPDU: b}).MarshalHexString()
		if err != nil {
			m.t.Fatalf("smstest: report: %v", err)
		}
		m.write(fmt.Sprintf("\r\n+CDS: %d\r\n%s\r\n", len(b), h))
	}
}

func (m *Modem) write(s string) {
	m.mu.Lock()
	master, plugged := m.master, m.plugged
	m.mu.Unlock()
	if !plugged {
		return
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	// A write to a line that was just unplugged fails; that is the point.
	_, _ = master.WriteString(s)
}

// serve reads the line until it is unplugged.
func (m *Modem) serve(master *os.File, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 4096)
	var line []byte
	pduLen := -1 // ≥ 0 while reading a PDU after AT+CMGS
	for {
		n, err := master.Read(buf)
		if err != nil {
			return
		}
		for _, b := range buf[:n] {
			switch {
			case pduLen >= 0 && b == 0x1a: // Ctrl-Z ends the PDU
				m.submit(string(line), pduLen)
				line, pduLen = line[:0], -1
			case b == 0x1b: // ESC cancels a PDU, or clears a half line
				line, pduLen = line[:0], -1
			case pduLen >= 0:
				if b != '\r' && b != '\n' {
					line = append(line, b)
				}
			case b == '\r':
				cmd := strings.TrimSpace(string(line))
				line = line[:0]
				if cmd != "" {
					pduLen = m.command(cmd)
				}
			case b == '\n':
			default:
				line = append(line, b)
			}
		}
	}
}

// The modem's answers.
const (
	ok = "\r\nOK\r\n"
)

func (m *Modem) info(lines ...string) string {
	var s strings.Builder
	for _, l := range lines {
		s.WriteString("\r\n" + l + "\r\n")
	}
	s.WriteString(ok)
	return s.String()
}

// cme answers a +CME ERROR as AT+CMEE asked: words, a number, or ERROR.
func (m *Modem) cme(code int, words string) string {
	return m.errLine("+CME ERROR: ", code, words)
}

func (m *Modem) cms(code int, words string) string {
	return m.errLine("+CMS ERROR: ", code, words)
}

func (m *Modem) errLine(prefix string, code int, words string) string {
	switch m.cmee {
	case 2:
		return "\r\n" + prefix + words + "\r\n"
	case 1:
		return "\r\n" + prefix + strconv.Itoa(code) + "\r\n"
	}
	return "\r\nERROR\r\n"
}

// simError answers for a SIM that is missing or locked ("" if it is fine).
func (m *Modem) simError() string {
	switch {
	case !m.sim:
		return m.cme(10, "SIM not inserted")
	case m.pin:
		return m.cme(11, "SIM PIN required")
	}
	return ""
}

// command answers one command line, and answers the PDU length to read
// next (-1 for none).
func (m *Modem) command(cmd string) int {
	m.mu.Lock()
	if m.mute {
		m.mu.Unlock()
		return -1
	}
	m.commands = append(m.commands, cmd)
	echo := ""
	if m.echo {
		echo = cmd + "\r"
	}
	up := strings.ToUpper(cmd)
	arg := func(prefix string) string { return strings.TrimPrefix(up, prefix) }
	pdu := -1
	var out string
	switch {
	case !strings.HasPrefix(up, "AT"):
		m.mu.Unlock()
		return -1
	case up == "AT":
		out = ok
	case up == "ATZ":
		m.reset()
		out = ok
	case up == "ATE0" || up == "ATE1":
		m.echo = up == "ATE1"
		out = ok
	case strings.HasPrefix(up, "AT+CMEE="):
		m.cmee, _ = strconv.Atoi(arg("AT+CMEE="))
		out = ok
	case up == "AT+GCAP":
		out = m.info("+GCAP: +CGSM")
	case strings.HasPrefix(up, "AT+CMGF="):
		m.pduMode = arg("AT+CMGF=") == "0"
		out = ok
	case strings.HasPrefix(up, "AT+CNMI="):
		f := strings.Split(arg("AT+CNMI="), ",")
		for len(f) < 5 {
			f = append(f, "0")
		}
		m.cnmiMT, _ = strconv.Atoi(f[1])
		m.cnmiDS, _ = strconv.Atoi(f[3])
		out = ok
	case up == "AT+CPIN?":
		switch {
		case !m.sim:
			out = m.cme(10, "SIM not inserted")
		case m.pin:
			out = m.info("+CPIN: SIM PIN")
		default:
			out = m.info("+CPIN: READY")
		}
	case up == "AT+CSQ":
		out = m.info(fmt.Sprintf("+CSQ: %d,99", m.rssi))
	case strings.HasPrefix(up, "AT+CSMS=") || strings.HasPrefix(up, "AT+CPMS=") || up == "AT+CNMA":
		out = ok
	case strings.HasPrefix(up, "AT+CMGS="):
		n, err := strconv.Atoi(arg("AT+CMGS="))
		switch {
		case m.simError() != "":
			out = m.simError()
		case !m.pduMode || err != nil:
			out = m.cms(302, "operation not allowed")
		default:
			out, pdu = "\r\n> ", n
		}
	case strings.HasPrefix(up, "AT+CMGR="):
		n, _ := strconv.Atoi(arg("AT+CMGR="))
		s, found := m.store[n]
		switch {
		case m.simError() != "":
			out = m.simError()
		case !found:
			out = m.cms(321, "invalid memory index")
		default:
			out = m.info(fmt.Sprintf("+CMGR: 0,,%d", s.n), s.hex)
		}
	case strings.HasPrefix(up, "AT+CMGL="):
		var lines []string
		idx := make([]int, 0, len(m.store))
		for i := range m.store {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		for _, i := range idx {
			lines = append(lines, fmt.Sprintf("+CMGL: %d,0,,%d", i, m.store[i].n), m.store[i].hex)
		}
		out = m.info(lines...)
	case strings.HasPrefix(up, "AT+CMGD="):
		n, _ := strconv.Atoi(strings.Split(arg("AT+CMGD="), ",")[0])
		if m.keep {
			out = m.cms(500, "unknown error")
			break
		}
		delete(m.store, n)
		out = ok
	default:
		out = "\r\nERROR\r\n"
	}
	m.mu.Unlock()
	m.write(echo + out)
	return pdu
}

// submit takes the PDU of an AT+CMGS, decodes it and answers +CMGS: <mr>.
func (m *Modem) submit(h string, n int) {
	m.mu.Lock()
	out, err := m.take(h, n)
	if err != nil {
		m.t.Errorf("smstest: the host sent a PDU the modem cannot read: %v", err)
		out = m.cms(304, "invalid PDU mode parameter")
	}
	m.mu.Unlock()
	m.write(out)
}

func (m *Modem) take(h string, n int) (string, error) {
	p, err := pdumode.UnmarshalHexString(h)
	if err != nil {
		return "", err
	}
	if len(p.TPDU) != n {
		return "", fmt.Errorf("AT+CMGS=%d with a TPDU of %d octets", n, len(p.TPDU))
	}
	t, err := wsms.Unmarshal(p.TPDU, wsms.AsMO)
	if err != nil {
		return "", err
	}
	if t.SmsType() != tpdu.SmsSubmit {
		return "", errors.New("not an SMS-SUBMIT")
	}
	switch {
	case m.rssi == 0 || m.rssi == 99:
		return m.cms(331, "no network service"), nil
	case m.failNext > 0:
		m.failNext--
		return m.cms(500, "unknown error"), nil
	}
	m.mr = (m.mr + 1) % 256
	mr := m.mr
	segs, seq, ref, concat := t.ConcatInfo()
	key := t.DA.Number() + "/" + strconv.Itoa(ref)
	if !concat {
		segs, seq, key = 1, 1, t.DA.Number()+"/single"
	}
	if seq < 1 || seq > segs {
		return "", fmt.Errorf("part %d of %d", seq, segs)
	}
	if m.parts[key] == nil {
		m.parts[key] = make([]*tpdu.TPDU, segs)
	}
	m.parts[key][seq-1] = t
	m.partMRs[key] = append(m.partMRs[key], mr)
	complete := true
	for _, p := range m.parts[key] {
		complete = complete && p != nil
	}
	if complete {
		body, err := wsms.Decode(m.parts[key])
		if err != nil {
			return "", err
		}
		a, _ := t.Alphabet()
		m.sent = append(m.sent, Text{To: t.DA.Number(), Body: string(body), UCS2: a == tpdu.AlphaUCS2,
			Parts: segs, MRs: m.partMRs[key], SRR: t.FirstOctet.SRR()})
		delete(m.parts, key)
		delete(m.partMRs, key)
	}
	return fmt.Sprintf("\r\n+CMGS: %d\r\n", mr) + ok, nil
}
