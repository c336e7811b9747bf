package web

import (
	"mime"
	"net/http"
	"strconv"

	"hearth/app/clinic"
)

// serveFile sends an attachment so a browser can never run it: always a
// download by default, its sniffed type fixed, its name sanitised, and a
// sandboxing CSP on top of the site-wide one.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, a clinic.Attachment, data []byte, inline bool) {
	h := w.Header()
	h.Set("Content-Type", a.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "no-store")
	disp := "attachment"
	if inline && (a.Type == "image/jpeg" || a.Type == "image/png") {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": a.Name}))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, err := w.Write(data)
	s.lostResponse(r, err)
}

func (s *Server) handleFileGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	a, data, err := s.c.File(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.serveFile(w, r, a, data, r.URL.Query().Get("inline") == "1")
	return nil
}
