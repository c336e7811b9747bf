package web

import "net/http"

// handleConsole serves the staff console's single page. It carries no PHI:
// everything is fetched over the API after sign-in.
func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	return s.render(w, r, http.StatusOK, "staff.html", page{Title: "Staff console"})
}
