package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"hearth/app/clinic"
)

// apiError is an error that is safe to show: a stable code, an HTTP status
// and a message in plain words. Anything that is not one becomes a 500 whose
// details go to the log under a request id, and never onto the wire.
type apiError struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

// The catalogue.
var (
	errBadRequest     = &apiError{http.StatusBadRequest, "bad_request", "The request could not be read.", ""}
	errUnauthorized   = &apiError{http.StatusUnauthorized, "unauthorized", "Please sign in.", ""}
	errBadCredentials = &apiError{http.StatusUnauthorized, "bad_credentials", "That email and password do not match an account.", ""}
	errForbidden      = &apiError{http.StatusForbidden, "forbidden", "You do not have access to this.", ""}
	errCSRF           = &apiError{http.StatusForbidden, "csrf", "This request did not come from a Hearth page. Reload the page and try again.", ""}
	errNotFound       = &apiError{http.StatusNotFound, "not_found", "There is nothing here.", ""}
	errTooLarge       = &apiError{http.StatusRequestEntityTooLarge, "too_large", "That is too large to send.", ""}
	errTooMany        = &apiError{http.StatusTooManyRequests, "too_many", "Too many tries. Please wait a few minutes and try again.", ""}
	errMisdirected    = &apiError{http.StatusMisdirectedRequest, "wrong_host", "This server does not answer for that name.", ""}
	errLocked         = &apiError{http.StatusServiceUnavailable, "locked", "Hearth is locked until an owner unlocks it.", ""}
	errSetupDone      = &apiError{http.StatusGone, "setup_done", "Setup is already complete. Sign in instead.", ""}
	errConflict       = &apiError{http.StatusConflict, "conflict", "That already exists.", ""}
	errTOTPRequired   = &apiError{http.StatusUnauthorized, "totp_required", "Enter the 6-digit code from your authenticator app (or a recovery code).", "totp"}
	errBadTOTP        = &apiError{http.StatusUnauthorized, "bad_totp", "That code is not right. Codes change every 30 seconds; type the one shown now.", "totp"}
	errRestricted     = &apiError{http.StatusForbidden, "setup_required", "Finish setting up your account first (a new password or two-step sign-in).", ""}
)

// toAPIError maps domain errors onto the catalogue; nil means "internal".
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ie *clinic.InputError
	if errors.As(err, &ie) {
		return &apiError{http.StatusBadRequest, "invalid", ie.Msg, ie.Field}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case clinic.IsNotFound(err):
		return errNotFound
	case errors.Is(err, clinic.ErrBreakGlass):
		return errBreakGlass
	case errors.Is(err, clinic.ErrForbidden):
		return errForbidden
	case errors.Is(err, clinic.ErrBadCredential):
		return errBadCredentials
	case errors.Is(err, clinic.ErrLocked):
		return errLocked
	case errors.Is(err, clinic.ErrSetupDone):
		return errSetupDone
	case errors.Is(err, clinic.ErrConflict):
		return errConflict
	}
	return nil
}

func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeJSONError writes err for an API client.
func (s *Server) writeJSONError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae == nil {
		id := requestID()
		s.log.Error("request failed", "route", routeOf(r), "request_id", id, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "Something went wrong on our side (reference " + id + ").", ""}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(ae)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeJSONCached writes JSON without overriding the caller's Cache-Control
// (for public, non-PHI data).
func writeJSONCached(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}
