package clinic

import (
	"context"
	"regexp"
	"testing"
	"time"
)

// TestMailWordsPinned pins the exact subject and body of every email
// Hearth writes to a patient, in English and in Spanish, so the wording
// can move between files without changing one byte of what is sent.
func TestMailWordsPinned(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		t.Run(lang, func(t *testing.T) {
			ic, _ := mailClinic(t)
			ctx := context.Background()
			p, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Rosa Delgado", DOB: "1961-03-14", Email: "rosa@example.com", Lang: lang})
			if err != nil {
				t.Fatal(err)
			}
			rosa := Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}
			if err := ic.c.SetEmailReplies(ctx, rosa, true); err != nil {
				t.Fatal(err)
			}
			unsub := "https://portal.maple.example" + ic.c.UnsubscribeLink(p.ID)

			// The reply notification.
			ack, err := ic.c.CreateItem(ctx, rosa, NewItem{Type: TypeMessage, Body: "a question"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "an answer", false); err != nil {
				t.Fatal(err)
			}
			// The sign-in link.
			if err := ic.c.RequestSignInLink(ctx, "rosa@example.com", "test"); err != nil {
				t.Fatal(err)
			}
			// An appointment reminder, two days ahead.
			start := time.Date(2026, 11, 26, 14, 30, 0, 0, ic.clock.t.Location())
			if _, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: p.ID, StartsAt: start, Minutes: 20}); err != nil {
				t.Fatal(err)
			}
			ic.clock.t = start.Add(-47 * time.Hour)
			if n, err := ic.c.SendReminders(ctx); err != nil || n != 1 {
				t.Fatalf("reminders: %d %v", n, err)
			}

			token := regexp.MustCompile(`/l/[A-Za-z0-9_-]+`)
			got := map[string][2]string{}
			for _, m := range outbox(t, ic) {
				body := token.ReplaceAllString(m.Body, "/l/TOKEN")
				switch {
				case m.ItemID != "":
					got["reply"] = [2]string{m.Subject, body}
				case body != m.Body:
					got["signin"] = [2]string{m.Subject, body}
				default:
					got["reminder"] = [2]string{m.Subject, body}
				}
			}
			thread := "https://portal.maple.example/t/" + ack.Item.ID
			want := map[string]map[string][2]string{
				"en": {
					"reply": {"You have a new reply from Maple Street",
						"Hello,\n\nYou have a new reply from Maple Street.\nRead it here: " + thread + "\n\nTo stop these emails: " + unsub + "\n"},
					"signin": {"Here is your link to sign in to Maple Street",
						"Hello,\n\nHere is your link to sign in to Maple Street:\nhttps://portal.maple.example/l/TOKEN\n\nIt works once, for 15 minutes. If you did not ask for it, you can ignore this email.\n"},
					"reminder": {"Your appointment at Maple Street",
						"Hello,\n\nYou have an appointment at Maple Street on Thursday, November 26 at 2:30 pm.\nConfirm it, or ask for another time, here: https://portal.maple.example/me\n\nTo stop these emails: " + unsub + "\n"},
				},
				"es": {
					"reply": {"Tiene una nueva respuesta de Maple Street",
						"Hola:\n\nTiene una nueva respuesta de Maple Street.\nLéala aquí: " + thread + "\n\nPara no recibir más estos correos: " + unsub + "\n"},
					"signin": {"Aquí tiene su enlace para entrar en Maple Street",
						"Hola:\n\nAquí tiene su enlace para entrar en Maple Street:\nhttps://portal.maple.example/l/TOKEN\n\nSirve una vez, durante 15 minutos. Si no lo pidió, puede ignorar este correo.\n"},
					// Until reminders followed the patient's language, this one was the English text.
					"reminder": {"Su cita en Maple Street",
						"Hola:\n\nEl jueves 26 de noviembre a las 2:30\u00a0p.\u00a0m. tiene una cita en Maple Street.\nConfírmela, o pida otra hora, aquí: https://portal.maple.example/me\n\nPara no recibir más estos correos: " + unsub + "\n"},
				},
			}[lang]
			for kind, w := range want {
				if got[kind] != w {
					t.Errorf("%s %s email:\n got subject %q\n body %q\nwant subject %q\n body %q", lang, kind, got[kind][0], got[kind][1], w[0], w[1])
				}
			}
			if len(got) != len(want) {
				t.Errorf("emails written: %d, want %d", len(got), len(want))
			}
		})
	}
}
