package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"hearth/app/clinic"
)

// apiError is an error that is safe to show: a stable code, an HTTP status
// and a message in plain words. Anything that is not one becomes a 500 whose
// details go to the log under a request id, and never onto the wire.
//
// Every apiError starts in the catalogue below; nothing outside this file
// writes an apiError literal (errors_test.go checks). Clients (the console,
// scripts, the tests) branch on Code, so a code and its status never change
// once shipped; the message may be reworded.
type apiError struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

// with words one case of a catalogue entry: the same code and status, its
// own message and field. A client that reads the code sees no difference.
func (e *apiError) with(field, msg string) *apiError {
	c := *e
	c.Field, c.Msg = field, msg
	return &c
}

// The catalogue: one entry per code.
var (
	errBadRequest     = &apiError{http.StatusBadRequest, "bad_request", "The request could not be read.", ""}
	errInvalidInput   = &apiError{http.StatusBadRequest, "invalid", "Something in the request is not right.", ""}
	errUnauthorized   = &apiError{http.StatusUnauthorized, "unauthorized", "Please sign in.", ""}
	errBadCredentials = &apiError{http.StatusUnauthorized, "bad_credentials", "That email and password do not match an account.", ""}
	errTOTPRequired   = &apiError{http.StatusUnauthorized, "totp_required", "Enter the 6-digit code from your authenticator app (or a recovery code).", "totp"}
	errBadTOTP        = &apiError{http.StatusUnauthorized, "bad_totp", "That code is not right. Codes change every 30 seconds; type the one shown now.", "totp"}
	errBadPassword    = &apiError{http.StatusUnauthorized, "bad_password", "That password is not right.", "password"}
	errBadPIN         = &apiError{http.StatusUnauthorized, "bad_pin", "That PIN is not right.", "pin"}
	errBadPassphrase  = &apiError{http.StatusUnauthorized, "bad_passphrase", "That passphrase is not right.", "passphrase"}
	errSessionLocked  = &apiError{http.StatusUnauthorized, "session_locked", "The screen is locked. Enter your password to continue.", ""}
	errForbidden      = &apiError{http.StatusForbidden, "forbidden", "You do not have access to this.", ""}
	errCSRF           = &apiError{http.StatusForbidden, "csrf", "This request did not come from a Hearth page. Reload the page and try again.", ""}
	errRestricted     = &apiError{http.StatusForbidden, "setup_required", "Finish setting up your account first (a new password or two-step sign-in).", ""}
	errStaffNetwork   = &apiError{http.StatusForbidden, "staff_network", "Staff pages open only from the clinic's own network. Ask the owner if you need to work from elsewhere.", ""}
	errBreakGlass     = &apiError{http.StatusForbidden, "break_glass", "This request is outside your queues. To open it anyway, give a reason; the owner will see it.", "reason"}
	errNotFound       = &apiError{http.StatusNotFound, "not_found", "There is nothing here.", ""}
	errConflict       = &apiError{http.StatusConflict, "conflict", "That already exists.", ""}
	errSetupDone      = &apiError{http.StatusGone, "setup_done", "Setup is already complete. Sign in instead.", ""}
	errTooLarge       = &apiError{http.StatusRequestEntityTooLarge, "too_large", "That is too large to send.", ""}
	errNotForm        = &apiError{http.StatusUnsupportedMediaType, "not_form", "Send this form from its page.", ""}
	errMisdirected    = &apiError{http.StatusMisdirectedRequest, "wrong_host", "This server does not answer for that name.", ""}
	errTooMany        = &apiError{http.StatusTooManyRequests, "too_many", "Too many tries. Please wait a few minutes and try again.", ""}
	errPINBlocked     = &apiError{http.StatusTooManyRequests, "pin_blocked", "Too many wrong PINs. Unlock with your password.", "password"}
	errUploadsBusy    = &apiError{http.StatusTooManyRequests, "uploads_busy", "Too many files are being sent at once. Please wait a minute and send again.", ""}
	errInternal       = &apiError{http.StatusInternalServerError, "internal", "Something went wrong on our side.", ""}
	errLocked         = &apiError{http.StatusServiceUnavailable, "locked", "Hearth is locked until an owner unlocks it.", ""}
	errDegraded       = &apiError{http.StatusServiceUnavailable, "degraded", "Hearth's database is damaged, so the staff screens are closed. Open /staff/ for what to do: restore the newest good backup.", ""}
	errStorageFull    = &apiError{http.StatusInsufficientStorage, "storage_full", "Storage is full: Hearth cannot save anything, so this was NOT saved or sent. Nothing saved earlier is lost. The owner must free space on the disk that holds Hearth's data folder, or move the folder to a bigger disk; Hearth then works again by itself.", ""}
	errStorageFailed  = &apiError{http.StatusServiceUnavailable, "storage_failed", "The disk refused a write: Hearth cannot save anything, so this was NOT saved or sent. Nothing saved earlier is lost. The owner must check the disk (it may be failing) and, if the errors go on, restore the newest backup onto a healthy disk.", ""}
	errClosedDay      = &apiError{http.StatusConflict, "closed_day", "The clinic is closed that day (its hours or a holiday). Choose another day, or book it anyway.", "starts_at"}
	// Text messages (texts_api.go).
	errBadSignature = &apiError{http.StatusForbidden, "bad_signature", "The webhook's signature does not match.", ""}
)

// catalogue lists every entry above, for the test that keeps codes unique.
var catalogue = []*apiError{
	errBadRequest, errInvalidInput, errUnauthorized, errBadCredentials, errTOTPRequired, errBadTOTP, errBadPassword, errBadPIN,
	errBadPassphrase, errSessionLocked, errForbidden, errCSRF, errRestricted, errBreakGlass, errNotFound, errConflict,
	errSetupDone, errTooLarge, errNotForm, errMisdirected, errTooMany, errPINBlocked, errInternal, errLocked,
	errStaffNetwork, errUploadsBusy, errDegraded, errStorageFull, errStorageFailed,
	errDuplicate,
	errClosedDay,
	errBadSignature,
}

// errDuplicate refuses a new patient whose name and birth date are already
// on file; the answer also lists the existing records' ids ("existing"),
// and the same request with "confirm_duplicate": true creates it anyway.
var errDuplicate = &apiError{http.StatusConflict, "duplicate", "A patient with this name and birth date is already on file. Open that record, or create this one anyway if it is another person.", ""}

// apiErrorBody is what an API client reads for an error: the catalogue
// entry, and beside it the ids of the records a duplicate repeats, or every
// field's problem when a form has several (each shown beside its field).
type apiErrorBody struct {
	*apiError
	Existing []string     `json:"existing,omitempty"`
	Fields   []fieldError `json:"fields,omitempty"`
}

type fieldError struct {
	Field string `json:"field"`
	Msg   string `json:"error"`
}

func errorBody(ae *apiError, err error) apiErrorBody {
	b := apiErrorBody{apiError: ae}
	var de *clinic.DuplicateError
	if errors.As(err, &de) {
		b.Existing = de.Existing
	}
	if ies := clinic.AllInputErrors(err); len(ies) > 1 {
		for _, ie := range ies {
			b.Fields = append(b.Fields, fieldError{ie.Field, ie.Msg})
		}
	}
	return b
}

// Fixed wordings of catalogue entries for one field or one case.
var (
	errNoBody          = errBadRequest.with("", "The request has no body.")
	errNeedSecret      = errInvalid("password", "Enter your password or PIN.")
	errNoPatient       = errInvalid("patient_id", "Choose the patient this is for.")
	errBadStartsAt     = errInvalid("starts_at", "starts_at must be a date and time like 2026-12-01T09:30:00-05:00.")
	errClinicNeedsTOTP = errInvalid("", "The clinic requires two-step sign-in for everyone; ask the owner.")
)

// errInvalid is the "invalid" entry for a value that breaks a rule of the
// domain; msg says which, in words that quote nothing the person typed.
func errInvalid(field, msg string) *apiError { return errInvalidInput.with(field, msg) }

// errUnknownParam is the "bad_request" entry for a query parameter the
// endpoint does not take.
func errUnknownParam(name string) *apiError {
	return errBadRequest.with(name, "Unknown filter "+strconv.Quote(name)+".")
}

// errBadParam is the "bad_request" entry for a query parameter that cannot
// be read: "<name> must be <want>."
func errBadParam(name, want string) *apiError {
	return errBadRequest.with(name, name+" must be "+want+".")
}

// errBadJSON is the "bad_request" entry for a body that is not the JSON the
// endpoint takes; why comes from safeJSONError and never echoes the input.
func errBadJSON(why string) *apiError {
	return errBadRequest.with("", "The request is not the JSON this endpoint takes: "+why)
}

// errInternalRef is the "internal" entry for an API caller, with the
// reference under which the details were logged.
func errInternalRef(ref string) *apiError {
	return errInternal.with("", "Something went wrong on our side (reference "+ref+").")
}

// errInternalPage is the "internal" entry as a staff page words it.
func errInternalPage(ref string) *apiError {
	return errInternal.with("", "Something went wrong on our side (reference "+ref+"). Please try again, or call the clinic.")
}

// toAPIError maps domain errors onto the catalogue; nil means "internal".
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ie *clinic.InputError
	if errors.As(err, &ie) {
		return errInvalid(ie.Field, ie.Msg)
	}
	if errors.Is(err, clinic.ErrDuplicate) {
		return errDuplicate
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
	case errors.Is(err, clinic.ErrStorageFull):
		return errStorageFull
	case errors.Is(err, clinic.ErrStorageFailed):
		return errStorageFailed
	case errors.Is(err, clinic.ErrClosedDay):
		return errClosedDay
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
		ae = errInternalRef(id)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(ae.Status)
	s.lostResponse(r, json.NewEncoder(w).Encode(errorBody(ae, err)))
}

// lostResponse notes a response body the client did not take. The status
// is already sent, so nothing else can be told to anyone: it is logged at
// debug level (a closed tab or a dropped connection is routine).
func (s *Server) lostResponse(r *http.Request, err error) {
	if err != nil {
		s.log.Debug("response not delivered", "route", routeOf(r), "err", err)
	}
}

// encodeJSON encodes v the way json.Encoder does (newline-terminated). A
// value that cannot be encoded is a bug in this package: it panics before
// anything is written, and recoverPanics logs it and answers the
// catalogue's 500.
func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("web: response does not encode as JSON: %w", err))
	}
	return append(b, '\n')
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the status is sent: a failed write is the client gone, and there is no one left to tell
}

// writeJSONCached writes JSON without overriding the caller's Cache-Control
// (for public, non-PHI data).
func writeJSONCached(w http.ResponseWriter, v any) {
	b := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the status is sent: a failed write is the client gone, and there is no one left to tell
}
