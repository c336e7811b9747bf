package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"hearth/app/realtime"
)

// sameOrigin is the websocket's Origin rule: the browser must say where the
// page came from, and it must be this very host. No Origin, "null", or any
// other site is refused (cookie-authenticated sockets are the classic
// cross-site hijack).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if !sameOrigin(r) {
		return errForbidden
	}
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errBadParam("since", "a sequence number")
		}
		since = n
	}
	role, token := rc.staff.Role, rc.token
	s.hub.Serve(w, r, realtime.Sub{
		StaffID:   rc.staff.ID,
		StaffName: rc.staff.SignedName(),
		SessionID: rc.session.ID,
		Since:     since,
		May: func(queue string) bool {
			settings, err := s.c.Settings(context.Background())
			return err == nil && settings.MayQueue(role, queue)
		},
		Valid: func() bool {
			_, _, err := s.c.SessionFor(context.Background(), token, false)
			return err == nil
		},
	}, sameOrigin)
	return nil
}
