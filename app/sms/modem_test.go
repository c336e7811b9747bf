package sms_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/app/sms"
	"hearth/app/sms/smstest"
)

const clinicNumber = "+15005550006"

// inbox collects what a modem hands over.
type inbox struct {
	mu sync.Mutex
	in []sms.Inbound
}

func (b *inbox) add(in sms.Inbound) { b.mu.Lock(); b.in = append(b.in, in); b.mu.Unlock() }

// wait waits up to ten seconds for n arrivals.
func (b *inbox) wait(t *testing.T, n int) []sms.Inbound {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		got := slices.Clone(b.in)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d texts from the modem, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openModem(t *testing.T, sim *smstest.Modem, box *inbox) *sms.Modem {
	t.Helper()
	m, err := sms.OpenModemWith(sms.ModemConfig{Device: sim.Device(), From: clinicNumber, OnInbound: box.add,
		Poll: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

// waitStored waits up to ten seconds for the SIM to hold n parts (the
// modem deletes a text's parts just after handing it over).
func waitStored(t *testing.T, sim *smstest.Modem, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Stored() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d parts on the SIM, want %d: read texts must be deleted", sim.Stored(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits up to ten seconds for the modem's State to have code.
func waitState(t *testing.T, m *sms.Modem, code sms.Code) sms.State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := m.State()
		if s.Code == code {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("modem state %+v, want %q", s, code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestModemSend(t *testing.T) {
	sim := smstest.NewModem(t)
	m := openModem(t, sim, &inbox{})
	if s := m.State(); !s.OK || s.Code != sms.CodeReady {
		t.Fatalf("state after open = %+v", s)
	}
	cmds := strings.Join(sim.Commands(), " ")
	for _, want := range []string{"ATZ", "ATE0", "AT+CMEE=2", "AT+CPIN?", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0", "AT+CSQ"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("the modem was never sent %s (got %s)", want, cmds)
		}
	}
	texts := []struct {
		body  string
		ucs2  bool
		parts int
	}{
		{"Clinica Sol: you have a message. https://clinic.example/m", false, 1},
		{"Clínica Sol: tiene un mensaje, señora. ¿Mañana? 😀", true, 1},
		{strings.Repeat("Reminder: your visit is on Tuesday at 9:30. ", 10)[:400], false, 3},
		{strings.Repeat("áéíóú ñ 😀 ", 15), true, 3},
	}
	var sids []string
	for _, c := range texts {
		sid, err := m.Send(context.Background(), sms.Message{To: "+34612345678", Body: c.body})
		if err != nil {
			t.Fatalf("send %.20q: %v", c.body, err)
		}
		if n, ucs2 := sms.Segments(c.body); n != c.parts || ucs2 != c.ucs2 {
			t.Fatalf("Segments(%.20q) = %d %v, want %d %v", c.body, n, ucs2, c.parts, c.ucs2)
		}
		sids = append(sids, sid)
	}
	sent := sim.WaitSent(t, len(texts))
	for i, c := range texts {
		got := sent[i]
		if got.To != "+34612345678" || got.Body != c.body || got.UCS2 != c.ucs2 || got.Parts != c.parts || len(got.MRs) != c.parts || !got.SRR {
			t.Errorf("text %d arrived as %+v, want %q (ucs2 %v, %d parts, a report asked)", i, got, c.body, c.ucs2, c.parts)
		}
		if !strings.HasPrefix(sids[i], "modem-") || slices.Index(sids, sids[i]) != i {
			t.Errorf("sid %q", sids[i])
		}
	}
}

// TestModemDeliveryReports: +CDS reports become a "delivered" (every part
// arrived) or "failed" Inbound carrying the SID Send answered.
func TestModemDeliveryReports(t *testing.T) {
	sim := smstest.NewModem(t)
	box := &inbox{}
	m := openModem(t, sim, box)
	long, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: strings.Repeat("b", 200)})
	if err != nil {
		t.Fatal(err)
	}
	short, err := m.Send(context.Background(), sms.Message{To: "+15551234568", Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	sent := sim.WaitSent(t, 2)
	sim.Report(sent[0], true)
	sim.Report(sent[1], false)
	got := box.wait(t, 2)
	want := map[string]string{long: "delivered", short: "failed"}
	for _, in := range got {
		if want[in.SID] != in.Status || in.Body != "" {
			t.Errorf("report %+v, want %s", in, want[in.SID])
		}
		delete(want, in.SID)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(box.wait(t, 2)); n != 2 {
		t.Fatalf("%d reports for two texts (a two-part text must report once)", n)
	}
}

func TestModemInbound(t *testing.T) {
	sim := smstest.NewModem(t)
	// A text that came while Hearth was not running waits on the SIM.
	sim.Deliver("+15551230000", "waiting since last night")
	box := &inbox{}
	m := openModem(t, sim, box)
	if got := box.wait(t, 1)[0]; got.Body != "waiting since last night" || got.From != "+15551230000" || got.To != clinicNumber || got.Status != "" {
		t.Fatalf("the stored text arrived as %+v", got)
	}

	sim.Deliver("+15551234567", "C")
	long := strings.Repeat("Hola, ¿puedo cambiar la cita? Gracias 😀. ", 6)
	sim.DeliverReversed("+5215512345678", long)
	sim.SetDirect(true)
	sim.Deliver("+34612345678", "STOP")
	got := box.wait(t, 4)[1:]
	slices.SortFunc(got, func(a, b sms.Inbound) int { return strings.Compare(a.From, b.From) })
	want := []sms.Inbound{
		{From: "+15551234567", To: clinicNumber, Body: "C"},
		{From: "+34612345678", To: clinicNumber, Body: "STOP"},
		{From: "+5215512345678", To: clinicNumber, Body: long},
	}
	for i, w := range want {
		g := got[i]
		if !strings.HasPrefix(g.SID, "modem-") {
			t.Errorf("SID %q", g.SID)
		}
		g.SID = ""
		if g != w {
			t.Errorf("text %d = %+v, want %+v", i, g, w)
		}
	}
	waitStored(t, sim, 0)
	if m.State().Code != sms.CodeReady {
		t.Fatalf("state %+v", m.State())
	}
}

// TestModemReadTwice: a text left on the SIM (its delete failed) is read
// again when the modem is reopened, handed over only once, and deleted.
func TestModemReadTwice(t *testing.T) {
	sim := smstest.NewModem(t)
	box := &inbox{}
	m := openModem(t, sim, box)
	sim.RefuseDeletes(true)
	sim.Deliver("+15551234567", "only once")
	box.wait(t, 1)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.ContainsFunc(sim.Commands(), func(c string) bool { return strings.HasPrefix(c, "AT+CMGD=") }) {
		if time.Now().After(deadline) {
			t.Fatal("the modem never tried to delete the text it read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sim.Stored() != 1 {
		t.Fatalf("%d texts on the SIM, want the one whose delete failed", sim.Stored())
	}
	sim.RefuseDeletes(false)
	sim.Unplug()
	waitState(t, m, sms.CodeNoModem)
	sim.Replug()
	waitState(t, m, sms.CodeReady)
	waitStored(t, sim, 0)
	if got := box.wait(t, 1); len(got) != 1 || got[0].Body != "only once" {
		t.Fatalf("handed over %+v", got)
	}
}

// TestModemUnplug: the modem vanishes, State says so and a send fails so it
// is retried; plugged back, the modem is reopened and sends again.
func TestModemUnplug(t *testing.T) {
	sim := smstest.NewModem(t)
	box := &inbox{}
	m := openModem(t, sim, box)
	if _, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "first"}); err != nil {
		t.Fatal(err)
	}
	sim.Unplug()
	s := waitState(t, m, sms.CodeNoModem)
	if s.OK || s.Words != "modem not found" {
		t.Fatalf("state unplugged = %+v", s)
	}
	_, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "second"})
	if sms.CodeOf(err) != sms.CodeNoModem || errors.Is(err, sms.ErrPermanent) {
		t.Fatalf("send unplugged: %v", err)
	}
	sim.Deliver("+15551234567", "sent while unplugged")
	sim.Replug()
	waitState(t, m, sms.CodeReady)
	if _, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "third"}); err != nil {
		t.Fatalf("send after replug: %v", err)
	}
	sent := sim.WaitSent(t, 2)
	if sent[0].Body != "first" || sent[1].Body != "third" || len(sent) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if got := box.wait(t, 1); got[0].Body != "sent while unplugged" {
		t.Fatalf("after replug got %+v", got)
	}
}

// TestModemSIMStates: a missing SIM, a locked PIN and no signal each show in
// State and make a send fail retryably; put right, the modem sends.
func TestModemSIMStates(t *testing.T) {
	sim := smstest.NewModem(t)
	sim.SetPIN(true)
	m := openModem(t, sim, &inbox{})
	if s := m.State(); s.OK || s.Code != sms.CodePINLocked || s.Words != "SIM PIN locked" {
		t.Fatalf("state with a PIN = %+v", s)
	}
	msg := sms.Message{To: "+15551234567", Body: "canary-Gertrudis"}
	for _, c := range []struct {
		set  func()
		code sms.Code
	}{
		{func() {}, sms.CodePINLocked},
		{func() { sim.SetPIN(false); sim.SetSIM(false) }, sms.CodeNoSIM},
		{func() { sim.SetSIM(true); sim.SetSignal(99) }, sms.CodeNoSignal},
		{func() { sim.SetSignal(20); sim.FailSends(1) }, sms.CodeModemError},
	} {
		c.set()
		_, err := m.Send(context.Background(), msg)
		if sms.CodeOf(err) != c.code || errors.Is(err, sms.ErrPermanent) {
			t.Fatalf("send: %v, want retryable %q", err, c.code)
		}
		if strings.Contains(err.Error(), "5551234567") || strings.Contains(err.Error(), "Gertrudis") {
			t.Fatalf("the error %q holds the number or the text", err)
		}
		if c.code != sms.CodeModemError {
			if s := m.State(); s.Code != c.code || s.OK {
				t.Fatalf("state %+v, want %q", s, c.code)
			}
		}
	}
	if _, err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("send with everything right: %v", err)
	}
	if sent := sim.WaitSent(t, 1); len(sent) != 1 || sent[0].Body != msg.Body {
		t.Fatalf("sent %+v", sent)
	}
	waitState(t, m, sms.CodeReady)
}

// TestModemHung: a modem that stops answering is closed and reopened; its
// State says "modem not found" meanwhile.
func TestModemHung(t *testing.T) {
	sim := smstest.NewModem(t)
	m, err := sms.OpenModemWith(sms.ModemConfig{Device: sim.Device(), From: clinicNumber,
		Poll: 50 * time.Millisecond, CommandTimeout: 300 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	waitState(t, m, sms.CodeReady)
	sim.Mute(true)
	waitState(t, m, sms.CodeNoModem)
	opened := strings.Count(strings.Join(sim.Commands(), " "), "ATZ")
	sim.Mute(false)
	waitState(t, m, sms.CodeReady)
	if again := strings.Count(strings.Join(sim.Commands(), " "), "ATZ"); again <= opened {
		t.Fatalf("the modem was not set up again (ATZ %d times, then %d)", opened, again)
	}
	if _, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "back"}); err != nil {
		t.Fatal(err)
	}
	if sent := sim.WaitSent(t, 1); sent[0].Body != "back" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestModemNotFound(t *testing.T) {
	if _, err := sms.OpenModem("", clinicNumber, nil); !errors.Is(err, sms.ErrNoDevice) {
		t.Fatalf("no device: %v", err)
	}
	m, err := sms.OpenModem(t.TempDir()+"/ttyUSB9", clinicNumber, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	if s := m.State(); s.OK || s.Code != sms.CodeNoModem {
		t.Fatalf("state = %+v", s)
	}
	if _, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "x"}); sms.CodeOf(err) != sms.CodeNoModem {
		t.Fatalf("send: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if s := m.State(); s.Code != sms.CodeClosed || s.OK {
		t.Fatalf("state after Close = %+v", s)
	}
	if _, err := m.Send(context.Background(), sms.Message{To: "+15551234567", Body: "x"}); sms.CodeOf(err) != sms.CodeClosed {
		t.Fatalf("send after Close: %v", err)
	}
}
