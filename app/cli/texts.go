package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"hearth/app/clinic"
	"hearth/app/sms"
)

// textLine is the clinic's running text transport, kept in step with the
// settings: the owner chooses a gateway or a modem in Settings → Text
// messages, and the line closes the old transport and starts the new one
// the next time it looks (every few seconds, and at once before a test
// text). It sends for the outbox and feeds the modem's inbound texts to
// the clinic.
type textLine struct {
	cl  *clinic.Clinic
	log *slog.Logger

	mu      sync.Mutex
	started bool               // cfg is in force (a failed start is retried)
	cfg     clinic.SMSSettings // what the running transport was started with
	cur     sms.Transport      // nil while texts are off or it failed to start
	failed  sms.Code           // why it failed to start
	// waiting are texts the modem handed over while the clinic was
	// locked (their senders cannot be looked up until an owner unlocks
	// it); each look files them again. Memory only, at most maxWaiting.
	waiting []sms.Inbound
	open    func(cfg clinic.SMSSettings, onInbound func(sms.Inbound)) (sms.Transport, error)
}

var _ clinic.TextSender = (*textLine)(nil)

func newTextLine(cl *clinic.Clinic, log *slog.Logger) *textLine {
	return &textLine{cl: cl, log: log, open: openTransport}
}

// openTransport starts the transport the settings name.
func openTransport(cfg clinic.SMSSettings, onInbound func(sms.Inbound)) (sms.Transport, error) {
	switch cfg.Transport {
	case clinic.TextsGateway:
		return sms.NewGateway(sms.GatewayConfig{URL: cfg.GatewayURL, Account: cfg.Account, Token: cfg.Token, From: cfg.From}), nil
	case clinic.TextsModem:
		m, err := sms.OpenModem(cfg.Device, cfg.From, onInbound)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, nil
}

// Refresh starts, restarts or stops the transport when the settings
// changed since it last looked.
func (l *textLine) Refresh(ctx context.Context) {
	if l.cl.Locked() {
		return // the token is sealed: keep what runs until the unlock
	}
	l.fileWaiting()
	s, err := l.cl.Settings(ctx)
	if err != nil {
		return // unreadable: keep what runs
	}
	want := s.SMS
	if !s.TextsReady() {
		want = clinic.SMSSettings{Transport: clinic.TextsOff}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started && want == l.cfg {
		return
	}
	if l.cur != nil {
		if err := l.cur.Close(); err != nil {
			l.log.Warn("closing the old text transport", "err", err)
		}
		l.cur = nil
	}
	l.cfg, l.started, l.failed = want, true, ""
	t, err := l.open(want, l.inbound)
	if err != nil {
		// Missing, no SIM, a locked PIN: said on Settings and in the
		// outbox view; the next look tries again.
		l.log.Error("the text transport could not start", "transport", want.Transport, "err", err)
		l.started, l.failed = false, sms.CodeOf(err)
		return
	}
	if t != nil {
		l.log.Info("text messages: transport started", "transport", want.Transport)
	}
	l.cur = t
}

// maxWaiting bounds the texts kept while the clinic is locked.
const maxWaiting = 500

// inbound hands a text the modem received to the clinic; while the clinic
// is locked it waits in memory for the unlock.
func (l *textLine) inbound(in sms.Inbound) {
	err := l.cl.ReceiveText(context.Background(), in)
	switch {
	case errors.Is(err, clinic.ErrLocked):
		l.mu.Lock()
		if len(l.waiting) < maxWaiting {
			l.waiting = append(l.waiting, in)
		} else {
			l.log.Error("an inbound text was dropped: Hearth is locked and too many texts wait for the unlock")
		}
		l.mu.Unlock()
	case err != nil:
		l.log.Error("an inbound text could not be filed", "err", err)
	}
}

// fileWaiting files the texts that came while the clinic was locked.
func (l *textLine) fileWaiting() {
	l.mu.Lock()
	w := l.waiting
	l.waiting = nil
	l.mu.Unlock()
	for _, in := range w {
		l.inbound(in)
	}
}

// Send sends through the running transport.
func (l *textLine) Send(ctx context.Context, m sms.Message) (string, error) {
	l.mu.Lock()
	t := l.cur
	l.mu.Unlock()
	if t == nil {
		return "", &sms.SendError{Code: sms.CodeClosed}
	}
	return t.Send(ctx, m)
}

// State says in words whether texts can go now.
func (l *textLine) State() sms.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		if l.failed != "" {
			return sms.State{Code: l.failed, Words: l.failed.Words()}
		}
		return sms.State{Code: sms.CodeClosed, Words: sms.CodeClosed.Words()}
	}
	return l.cur.State()
}

// Close stops the transport.
func (l *textLine) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return nil
	}
	err := l.cur.Close()
	l.cur = nil
	return err
}

// testTick, set only by the whole-program tests' link (-X
// hearth/app/cli.testTick=1s, beside the cheap crypto costs), shortens the
// minute of the periodic work and the outbox's five seconds, so a reminder
// or a held text is seen within a test's patience. A clinic's build never
// sets it, and no flag or environment variable reaches it.
var testTick string

// minuteTick is how often the periodic work runs: each minute.
func minuteTick() time.Duration {
	if d, err := time.ParseDuration(testTick); err == nil && d > 0 {
		return d
	}
	return time.Minute
}

// outboxTick is how often the outbox sends what is due.
var outboxTick = min(5*time.Second, minuteTick())
