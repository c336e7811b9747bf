package web

import (
	"errors"
	"net/http"

	"hearth/app/clinic"
)

// handleVaultUnlock opens a sealed-mode Hearth after a restart. The
// passphrase is the credential, so wrong ones are throttled per client
// (the believed address, see clientOf): a guesser only ever uses up their
// own budget, never the owner's. There is deliberately no clinic-wide
// budget: one anyone can use up would let anyone keep the clinic locked.
// No staff session can vouch for the caller (sessions end with the process
// the unlock follows); --staff-from keeps the route away from every network
// but the office's.
func (s *Server) handleVaultUnlock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Passphrase string `json:"passphrase"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	client := "unlock-client:" + clientAddr(r)
	if s.limits.blocked(client, s.limits.PerAccount) {
		return errTooMany
	}
	err := s.c.Unlock(r.Context(), in.Passphrase, clientAddr(r))
	if errors.Is(err, clinic.ErrBadCredential) {
		s.limits.fail(client)
		return errBadPassphrase
	}
	if err != nil {
		return err
	}
	s.log.Info("hearth unlocked")
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
	return nil
}

func (s *Server) handleVaultPassphrase(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Password   string `json:"password"`
		Passphrase string `json:"passphrase"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.limits.blocked("pw:"+rc.staff.ID, s.limits.PerAccount) {
		return errTooMany
	}
	if err := s.c.SetPassphrase(r.Context(), rc.actor, in.Password, in.Passphrase); err != nil {
		s.limits.fail("pw:" + rc.staff.ID)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"sealed": in.Passphrase != ""})
	return nil
}
