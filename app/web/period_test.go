package web

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSpanishPagesNoDoublePeriod: Spanish pages whose sentences end with a
// time ("… a las 10 a. m.") show one period, morning and evening, open and
// closed: the landing page, the compose page and the acknowledgement.
func TestSpanishPagesNoDoublePeriod(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Jorge Ruiz", "1970-01-02")
	u.get("/me?lang=es")
	v := e.anon()
	for _, step := range []time.Duration{0, 6 * time.Hour, 12 * time.Hour, 18 * time.Hour} {
		e.clock.Add(step)
		pages := map[string]string{"landing": v.get("/?lang=es").body, "compose": u.get("/new?type=appointment").body}
		_, ack := u.send("appointment", url.Values{"reason": {"Chequeo"}})
		pages["ack"] = ack.body
		for name, body := range pages {
			text := strings.ReplaceAll(body, "\u00a0", " ")
			if !strings.Contains(text, "m.") {
				t.Errorf("%s at %s: no a. m. / p. m. time on the page", name, e.c.Now().Format(time.Kitchen))
			}
			if i := strings.Index(text, "m.."); i >= 0 {
				t.Errorf("%s at %s: a double period: %q", name, e.c.Now().Format(time.Kitchen), text[max(0, i-60):i+3])
			}
		}
	}
}
