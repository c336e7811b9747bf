package sms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/warthog618/modem/at"
	wsms "github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// ModemConfig is a USB GSM modem and what to do with the texts it receives.
type ModemConfig struct {
	// Device is the modem's serial port (/dev/ttyUSB2, or better a stable
	// /dev/serial/by-id/... name, which survives replugging).
	Device string
	// From is the SIM's own number, in E.164; it becomes Inbound.To.
	From string
	// OnInbound receives every text and delivery report, one at a time; it
	// may call Send (to acknowledge a text) but must not block for long. A
	// stored text is deleted from the SIM only after OnInbound returns, so a
	// crash before that hands it over again on the next start with the same
	// SID: OnInbound must ignore a SID it has seen.
	OnInbound func(Inbound)
	// Poll is how often the SIM and the signal are checked and a modem that
	// stopped answering is reopened (default 30 s).
	Poll time.Duration
	// CommandTimeout is how long the modem may take to answer a command
	// before it counts as gone (default 5 s; sending a part may take 60 s).
	CommandTimeout time.Duration
	// MaxBackoff caps the wait between attempts to reopen a modem that is
	// gone (default 30 s; the first waits are 250 ms, 500 ms, 1 s, ...).
	MaxBackoff time.Duration
	// Logger gets connection events, never a number or a text (nil: none).
	Logger *slog.Logger
}

// Modem sends and receives texts through a USB GSM modem, in PDU mode: long
// texts are split into concatenated parts (GSM 7-bit, or UCS-2 for accents
// outside the GSM alphabet and emoji) and incoming parts joined. Incoming
// texts are announced by +CMTI (then read with AT+CMGR and deleted) or
// handed over whole by +CMT; delivery reports come as +CDS where the network
// gives them. When the device vanishes (unplugged, or the modem stopped
// answering) the Modem says so in its State and reopens it with backoff.
type Modem struct {
	cfg ModemConfig
	enc *wsms.Encoder

	sendMu sync.Mutex // one text at a time, so its parts go in order

	mu      sync.Mutex
	conn    *modemConn
	state   State
	closed  bool
	parts   map[string]*partial // concatenated texts being joined
	reports map[byte]*outgoing  // a sent part's message reference → its text

	inMu     sync.Mutex // OnInbound one at a time, and never after Close
	inClosed bool
	recent   []string // SIDs of the last texts handed over, oldest first

	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Transport = (*Modem)(nil)

// modemConn is one opening of the device.
type modemConn struct {
	port io.Closer
	at   *at.AT

	checkMu sync.Mutex // one check at a time (the poll and Send both check)
	ready   bool       // PDU mode and indications are set up

	readMu sync.Mutex // one stored text read at a time
	mem    string     // the storage AT+CMGR reads ("" until a +CMTI names one)
}

// partial is a concatenated text with parts still to come.
type partial struct {
	first time.Time
	total int
	parts map[int]*tpdu.TPDU
	idx   []int // where its parts are stored on the SIM
}

// outgoing is a sent text waiting for its delivery reports.
type outgoing struct {
	sid    string
	left   int
	failed bool
}

// Timing of the conversation with the modem.
const (
	sendTimeout = 60 * time.Second // the network may take this long per part
	minBackoff  = 250 * time.Millisecond
	partsMaxAge = 24 * time.Hour // a text whose parts never all come is handed over as it is
	recentTexts = 256            // how many SIDs are remembered against reading a text twice
)

// ErrNoDevice is OpenModem's answer when no device is named.
var ErrNoDevice = errors.New("sms: no modem device is set")

var errNotSerial = errors.New("not a serial port")

// OpenModem opens a modem with the default timings; see OpenModemWith.
func OpenModem(device, from string, onInbound func(Inbound)) (*Modem, error) {
	return OpenModemWith(ModemConfig{Device: device, From: from, OnInbound: onInbound})
}

// OpenModemWith opens the modem and sets it up: it answers once the first
// attempt is over, with State saying how it went ("modem not found", "SIM
// PIN locked", "ready", ...). It fails only when no device is named: a
// modem that is missing now is looked for again in the background.
func OpenModemWith(cfg ModemConfig) (*Modem, error) {
	if cfg.Device == "" {
		return nil, ErrNoDevice
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnInbound == nil {
		cfg.OnInbound = func(Inbound) {}
	}
	template, err := tpdu.NewSubmit()
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	template.FirstOctet |= tpdu.FoSRR // ask for delivery reports
	m := &Modem{
		cfg:     cfg,
		enc:     wsms.NewEncoder(wsms.WithTemplate(*template)),
		parts:   map[string]*partial{},
		reports: map[byte]*outgoing{},
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c, st := m.connect()
	m.setState(c, st)
	go m.run(c)
	return m, nil
}

// State says whether the modem can send now, and if not why: "modem not
// found", "no SIM", "SIM PIN locked", "no signal", ...
func (m *Modem) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Close stops the modem; after it returns OnInbound is not called again.
func (m *Modem) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.closing)
		<-m.done
		m.mu.Lock()
		m.conn, m.state = nil, state(CodeClosed)
		m.mu.Unlock()
		m.inMu.Lock()
		m.inClosed = true
		m.inMu.Unlock()
	})
	return nil
}

func (m *Modem) setState(c *modemConn, st State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		m.conn, m.state = nil, state(CodeClosed)
		return
	}
	if st.Code != m.state.Code {
		m.cfg.Logger.Info("sms: modem state", "state", string(st.Code))
	}
	m.conn, m.state = c, st
}

// run keeps the modem open until Close: it serves an open device until it
// vanishes, then reopens it with backoff.
func (m *Modem) run(c *modemConn) {
	defer close(m.done)
	backoff := minBackoff
	for {
		if c != nil {
			backoff = minBackoff
			m.serve(c)
			_ = c.port.Close()
			<-c.at.Closed()
			m.setState(nil, state(CodeNoModem))
		}
		select {
		case <-m.closing:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
		c = nil
		nc, st := m.connect()
		select {
		case <-m.closing:
			if nc != nil {
				_ = nc.port.Close()
			}
			return
		default:
		}
		m.setState(nc, st)
		c = nc
	}
}

// serve polls an open modem until it vanishes, stops answering, or Close.
func (m *Modem) serve(c *modemConn) {
	tick := time.NewTicker(m.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-m.closing:
			return
		case <-c.at.Closed():
			return
		case <-tick.C:
			st, alive := m.check(c)
			if !alive {
				m.cfg.Logger.Warn("sms: the modem stopped answering; reopening it")
				return
			}
			m.setState(c, st)
			m.expireParts(c)
		}
	}
}

// connect opens the device and sets the modem up.
func (m *Modem) connect() (*modemConn, State) {
	port, err := openPort(m.cfg.Device)
	if err != nil {
		st := state(CodeNoModem)
		return nil, st
	}
	a := at.New(port, at.WithTimeout(m.cfg.CommandTimeout))
	c := &modemConn{port: port, at: a}
	for _, ind := range []struct {
		prefix  string
		handler at.InfoHandler
		lines   at.TrailingLinesOption
	}{
		{"+CMTI:", func(info []string) { m.onCMTI(c, info) }, 0},
		{"+CMT:", func(info []string) { m.onCMT(c, info) }, at.WithTrailingLine},
		{"+CDS:", func(info []string) { m.onCDS(info) }, at.WithTrailingLine},
	} {
		if err := a.AddIndication(ind.prefix, ind.handler, ind.lines); err != nil {
			_ = port.Close()
			return nil, state(CodeNoModem)
		}
	}
	if err := a.Init(); err != nil {
		// Something answers on the port, but not as a modem (or not at all).
		_ = port.Close()
		return nil, state(CodeNoModem)
	}
	_, _ = a.Command("+CMEE=2") // words, not numbers, in errors; optional
	st, alive := m.check(c)
	if !alive {
		_ = port.Close()
		return nil, state(CodeNoModem)
	}
	m.cfg.Logger.Info("sms: modem opened")
	return c, st
}

// check asks the SIM and the signal, and sets up texting once the SIM is
// ready. alive is false when the modem did not answer at all.
func (m *Modem) check(c *modemConn) (st State, alive bool) {
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	info, err := c.at.Command("+CPIN?")
	if err != nil {
		if errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed) {
			return state(CodeNoModem), false
		}
		return state(simCode(err.Error())), true
	}
	pin := ""
	for _, l := range info {
		if strings.HasPrefix(l, "+CPIN:") {
			pin = strings.TrimSpace(strings.TrimPrefix(l, "+CPIN:"))
		}
	}
	if pin != "READY" {
		return state(simCode(pin)), true
	}
	if !c.ready {
		if _, err := c.at.Command("+CMGF=0"); err != nil {
			return state(CodeModemError), !errors.Is(err, at.ErrDeadlineExceeded)
		}
		// New texts stored and announced (+CMTI), delivery reports handed
		// over (+CDS); a modem that cannot route reports still texts.
		if _, err := c.at.Command("+CNMI=2,1,0,1,0"); err != nil {
			if _, err := c.at.Command("+CNMI=2,1,0,0,0"); err != nil {
				return state(CodeModemError), !errors.Is(err, at.ErrDeadlineExceeded)
			}
		}
		c.ready = true
		// Not under checkMu: OnInbound may answer a text with Send, which
		// checks.
		go m.readAll(c)
	}
	info, err = c.at.Command("+CSQ")
	if err != nil {
		return state(CodeModemError), !errors.Is(err, at.ErrDeadlineExceeded)
	}
	for _, l := range info {
		if strings.HasPrefix(l, "+CSQ:") {
			rssi, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "+CSQ:")), ",")
			if n, err := strconv.Atoi(rssi); err != nil || n == 0 || n == 99 {
				return state(CodeNoSignal), true
			}
			return state(CodeReady), true
		}
	}
	return state(CodeModemError), true
}

// simCode reads a +CPIN answer or a +CME error (words or numbers).
func simCode(s string) Code {
	s = strings.ToUpper(s)
	switch {
	case strings.Contains(s, "PIN") || strings.Contains(s, "PUK") || strings.HasSuffix(s, ": 11") || strings.HasSuffix(s, ": 12"):
		return CodePINLocked
	case strings.Contains(s, "NOT INSERTED") || strings.Contains(s, "SIM FAILURE") || strings.Contains(s, "SIM WRONG") ||
		strings.HasSuffix(s, ": 10") || strings.HasSuffix(s, ": 13") || strings.HasSuffix(s, ": 15"):
		return CodeNoSIM
	}
	return CodeModemError
}

// Send sends m's body as one text of as many parts as it needs, each part
// given up to 60 s (or what is left of ctx's deadline). A modem that is
// gone, has no SIM, a locked PIN or no signal gives a retryable error naming
// that; the SIM and the signal are asked afresh first. A failure after the
// first part is retryable too, and the retry sends every part again.
func (m *Modem) Send(ctx context.Context, msg Message) (string, error) {
	if !e164.MatchString(msg.To) {
		return "", sendErr(CodeBadNumber, true, "not E.164")
	}
	if err := checkBody(msg.Body); err != nil {
		return "", err
	}
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if ctx.Err() != nil {
		return "", sendErr(CodeModemError, false, "cancelled")
	}
	m.mu.Lock()
	c, closed := m.conn, m.closed
	m.mu.Unlock()
	if closed {
		return "", sendErr(CodeClosed, false, "")
	}
	if c == nil {
		return "", sendErr(CodeNoModem, false, "")
	}
	st, _ := m.check(c)
	m.setState(c, st)
	if !st.OK {
		return "", sendErr(st.Code, false, "")
	}
	pdus, err := m.enc.Encode([]byte(msg.Body), wsms.To(msg.To))
	if err != nil {
		return "", sendErr(CodeModemError, true, "cannot encode the text")
	}
	sid := "modem-" + randomHex(12)
	o := &outgoing{sid: sid, left: len(pdus)}
	for i, p := range pdus {
		b, err := p.MarshalBinary()
		if err != nil {
			return "", sendErr(CodeModemError, true, "cannot encode the text")
		}
		h, err := (&pdumode.PDU{TPDU: b}).MarshalHexString()
		if err != nil {
			return "", sendErr(CodeModemError, true, "cannot encode the text")
		}
		timeout := sendTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(d))
		}
		if timeout <= 0 {
			return "", modemSendErr(at.ErrDeadlineExceeded, i, len(pdus))
		}
		info, err := c.at.SMSCommand("+CMGS="+strconv.Itoa(len(b)), h, at.WithTimeout(timeout))
		if err != nil {
			return "", modemSendErr(err, i, len(pdus))
		}
		for _, l := range info {
			if strings.HasPrefix(l, "+CMGS:") {
				if mr, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "+CMGS:"))); err == nil {
					m.mu.Lock()
					m.reports[byte(mr)] = o
					m.mu.Unlock()
				}
			}
		}
	}
	return sid, nil
}

// modemSendErr classifies a failed AT+CMGS. Every one is retryable: the
// modem's refusals are of the moment (network, SIM) far more often than of
// the text.
func modemSendErr(err error, part, parts int) *SendError {
	detail := ""
	if part > 0 {
		detail = fmt.Sprintf("after %d of %d parts", part, parts)
	}
	var cms at.CMSError
	var cme at.CMEError
	switch {
	case errors.Is(err, at.ErrClosed):
		return sendErr(CodeNoModem, false, detail)
	case errors.Is(err, at.ErrDeadlineExceeded):
		return sendErr(CodeModemError, false, strings.TrimPrefix(detail+", no answer", ", "))
	case errors.As(err, &cms), errors.As(err, &cme):
		s := strings.ToUpper(err.Error())
		if strings.Contains(s, "NETWORK") || strings.HasSuffix(s, ": 331") || strings.HasSuffix(s, ": 332") || strings.HasSuffix(s, ": 30") {
			return sendErr(CodeNoSignal, false, detail)
		}
		if c := simCode(s); c != CodeModemError {
			return sendErr(c, false, detail)
		}
		return sendErr(CodeModemError, false, strings.TrimPrefix(detail+", "+err.Error(), ", "))
	}
	return sendErr(CodeModemError, false, detail)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

// onCMTI reads a text the modem stored: +CMTI: <mem>,<index>. A modem
// may store in its own memory ("ME") as well as on the SIM ("SM"); AT+CMGR
// reads from the preferred storage, so that is pointed at <mem> first.
func (m *Modem) onCMTI(c *modemConn, info []string) {
	mem, idx, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(info[0], "+CMTI:")), ",")
	n, err := strconv.Atoi(strings.TrimSpace(idx))
	if !ok || err != nil {
		return
	}
	mem = strings.Trim(strings.TrimSpace(mem), `"`)
	c.readMu.Lock()
	if mem != "" && mem != c.mem {
		if _, err := c.at.Command(`+CPMS="` + mem + `"`); err == nil {
			c.mem = mem
		}
	}
	head, line, found := m.readStored(c, n)
	c.readMu.Unlock()
	if found {
		m.collect(c, head, line, n)
	}
}

// readStored reads the text at index n with AT+CMGR: its header line and
// its PDU line.
func (m *Modem) readStored(c *modemConn, n int) (head, line string, found bool) {
	info, err := c.at.Command("+CMGR=" + strconv.Itoa(n))
	if err != nil {
		return "", "", false
	}
	for i, l := range info {
		if strings.HasPrefix(l, "+CMGR:") && i+1 < len(info) {
			return l, info[i+1], true
		}
	}
	return "", "", false
}

// readAll reads every text stored on the SIM (AT+CMGL=4): those that came
// while Hearth was not running, and any not deleted before a crash.
func (m *Modem) readAll(c *modemConn) {
	info, err := c.at.Command("+CMGL=4", at.WithTimeout(4*m.cfg.CommandTimeout))
	if err != nil {
		return
	}
	for i, l := range info {
		if !strings.HasPrefix(l, "+CMGL:") || i+1 >= len(info) {
			continue
		}
		head := strings.TrimSpace(strings.TrimPrefix(l, "+CMGL:"))
		idx, _, _ := strings.Cut(head, ",")
		n, err := strconv.Atoi(strings.TrimSpace(idx))
		if err != nil {
			continue
		}
		m.collect(c, l, info[i+1], n)
	}
}

// onCMT takes a text handed over whole: +CMT: [<alpha>],<length> and the PDU.
func (m *Modem) onCMT(c *modemConn, info []string) {
	if len(info) == 2 {
		m.collect(c, info[0], info[1], -1)
	}
}

// decodePDU reads a PDU line whose header line ends in the TPDU's length.
func decodePDU(head, line string) (*tpdu.TPDU, error) {
	n, err := strconv.Atoi(strings.TrimSpace(head[strings.LastIndexByte(head, ',')+1:]))
	if err != nil {
		if n, err = strconv.Atoi(strings.TrimSpace(head[strings.IndexByte(head, ':')+1:])); err != nil {
			return nil, errors.New("no length")
		}
	}
	p, err := pdumode.UnmarshalHexString(strings.TrimSpace(line))
	if err != nil {
		return nil, err
	}
	if len(p.TPDU) != n {
		return nil, errors.New("length mismatch")
	}
	t := tpdu.TPDU{}
	if err := t.UnmarshalBinary(p.TPDU); err != nil {
		return nil, err
	}
	return &t, nil
}

// collect joins a received part with the others of its text and hands the
// text over when it is whole. idx is where it is stored (-1: not stored).
func (m *Modem) collect(c *modemConn, head, line string, idx int) {
	t, err := decodePDU(head, line)
	if err != nil || t.SmsType() != tpdu.SmsDeliver {
		// Nothing a person sent (a stored report, a broken PDU): drop it so
		// the SIM does not fill up.
		m.delete(c, idx)
		return
	}
	segs, seq, ref, ok := t.ConcatInfo()
	if !ok || segs <= 1 {
		m.deliver(c, []*tpdu.TPDU{t}, []int{idx})
		return
	}
	key := t.OA.Number() + "/" + strconv.Itoa(ref) + "/" + strconv.Itoa(segs)
	m.mu.Lock()
	p := m.parts[key]
	if p == nil {
		p = &partial{first: time.Now(), total: segs, parts: map[int]*tpdu.TPDU{}}
		m.parts[key] = p
	}
	p.parts[seq] = t
	if idx >= 0 {
		p.idx = append(p.idx, idx)
	}
	if len(p.parts) < p.total {
		m.mu.Unlock()
		return
	}
	delete(m.parts, key)
	m.mu.Unlock()
	ordered := make([]*tpdu.TPDU, 0, segs)
	for i := 1; i <= segs; i++ {
		if p.parts[i] != nil {
			ordered = append(ordered, p.parts[i])
		}
	}
	m.deliver(c, ordered, p.idx)
}

// expireParts hands over the texts whose missing parts are not coming.
func (m *Modem) expireParts(c *modemConn) {
	var old []*partial
	m.mu.Lock()
	for k, p := range m.parts {
		if time.Since(p.first) > partsMaxAge {
			old = append(old, p)
			delete(m.parts, k)
		}
	}
	m.mu.Unlock()
	for _, p := range old {
		var ordered []*tpdu.TPDU
		for i := 1; i <= p.total; i++ {
			if p.parts[i] != nil {
				ordered = append(ordered, p.parts[i])
			}
		}
		m.deliver(c, ordered, p.idx)
	}
}

// deliver decodes a whole text, hands it to OnInbound, then deletes its
// parts from the SIM.
func (m *Modem) deliver(c *modemConn, parts []*tpdu.TPDU, idx []int) {
	var body []byte
	if b, err := wsms.Decode(parts); err == nil {
		body = b
	} else {
		// A part that does not decode: keep what the others say.
		for _, p := range parts {
			if b, err := wsms.Decode([]*tpdu.TPDU{p}); err == nil {
				body = append(body, b...)
			}
		}
	}
	text := string(body)
	if utf8.RuneCountInString(text) > MaxInbound {
		text = string([]rune(text)[:MaxInbound])
	}
	id := sha256.New()
	_, _ = io.WriteString(id, parts[0].OA.Number())
	ts, _ := parts[0].SCTS.MarshalBinary()
	id.Write(ts)
	for _, p := range parts {
		id.Write([]byte(p.UD))
	}
	in := Inbound{From: parts[0].OA.Number(), To: m.cfg.From, Body: text, SID: "modem-" + hex.EncodeToString(id.Sum(nil))[:24]}
	if !m.hand(in) {
		return
	}
	for _, n := range idx {
		m.delete(c, n)
	}
}

func (m *Modem) delete(c *modemConn, idx int) {
	if idx >= 0 {
		_, _ = c.at.Command("+CMGD=" + strconv.Itoa(idx))
	}
}

// hand gives in to OnInbound unless the modem is closed.
func (m *Modem) hand(in Inbound) bool {
	m.inMu.Lock()
	defer m.inMu.Unlock()
	if m.inClosed {
		return false
	}
	if in.Status == "" {
		// A text read twice (its +CMTI and the AT+CMGL after a reopen both
		// saw it) is handed over once; its copy is deleted all the same.
		if slices.Contains(m.recent, in.SID) {
			return true
		}
		if len(m.recent) == recentTexts {
			m.recent = m.recent[1:]
		}
		m.recent = append(m.recent, in.SID)
	}
	m.cfg.OnInbound(in)
	return true
}

// onCDS reads a delivery report: +CDS: <length> and the PDU. A text is
// "delivered" when every part is, "failed" at its first part that failed.
func (m *Modem) onCDS(info []string) {
	if len(info) != 2 {
		return
	}
	t, err := decodePDU(info[0], info[1])
	if err != nil || t.SmsType() != tpdu.SmsStatusReport {
		return
	}
	status := ""
	m.mu.Lock()
	o := m.reports[t.MR]
	switch {
	case o == nil:
	case t.ST < 0x20: // completed: received by the phone
		delete(m.reports, t.MR)
		o.left--
		if o.left == 0 && !o.failed {
			status = "delivered"
		}
	case t.ST < 0x40: // the network is still trying
	default:
		delete(m.reports, t.MR)
		if !o.failed {
			o.failed = true
			status = "failed"
		}
	}
	m.mu.Unlock()
	if status != "" {
		m.hand(Inbound{From: m.cfg.From, To: t.RA.Number(), SID: o.sid, Status: status})
	}
}
