package cli

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
	"hearth/app/sms"
	"hearth/app/sms/smstest"
)

// TestTextLineFollowsSettings: the text line starts the transport the
// settings name, restarts it when they change, and stops it when texts
// are turned off; sends then answer "switched off", never a panic.
func TestTextLineFollowsSettings(t *testing.T) {
	_, cl, owner := clinictest.New(t, clinictest.Options{}, clinic.Deps{Files: clinictest.Embed()})
	ctx := context.Background()
	a := clinic.Actor{Kind: clinic.ActorStaff, ID: owner.ID, Role: clinic.RoleOwner}
	line := newTextLine(cl, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		if err := line.Close(); err != nil {
			t.Error(err)
		}
	})
	line.Refresh(ctx)
	if st := line.State(); st.Code != sms.CodeClosed {
		t.Fatalf("texts off: state %+v", st)
	}
	g := smstest.NewGatewayPlain(t)
	save := func(tr clinic.SMSSettings) {
		t.Helper()
		s, err := cl.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.SMS = tr
		if err := cl.SaveSettings(ctx, a, s); err != nil {
			t.Fatal(err)
		}
	}
	save(clinic.SMSSettings{Transport: clinic.TextsGateway, GatewayURL: g.URL, Account: g.Account, Token: "wrong", From: g.From})
	line.Refresh(ctx)
	if _, err := line.Send(ctx, sms.Message{To: "+12025550143", Body: "one"}); sms.CodeOf(err) != sms.CodeAuthRefused {
		t.Fatalf("wrong token: %v", err)
	}
	save(clinic.SMSSettings{Transport: clinic.TextsGateway, GatewayURL: g.URL, Account: g.Account, Token: g.Token, From: g.From})
	line.Refresh(ctx)
	if _, err := line.Send(ctx, sms.Message{To: "+12025550143", Body: "two"}); err != nil {
		t.Fatalf("after the token was fixed: %v", err)
	}
	if st := line.State(); !st.OK {
		t.Fatalf("state after a send: %+v", st)
	}
	save(clinic.SMSSettings{Transport: clinic.TextsOff})
	line.Refresh(ctx)
	_, err := line.Send(ctx, sms.Message{To: "+12025550143", Body: "three"})
	var se *sms.SendError
	if !errors.As(err, &se) || se.Code != sms.CodeClosed {
		t.Fatalf("texts off: %v", err)
	}
	if n := len(g.Sent()); n != 1 {
		t.Fatalf("the gateway took %d texts, want 1", n)
	}
}
