package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"hearth/app/clinic"
)

// access declares who may call a route. Every route has one; a test walks
// the table and fails on any route without it.
type access struct {
	// kind is "anyone", "setup" (the one-time setup token), "staff",
	// "patient" or "hook" (a signed webhook: the handler checks the
	// signature; no session, no CSRF token).
	kind string
	// roles limits staff routes to these roles (nil: any staff role).
	roles []string
	// locked routes still answer on a locked session (unlock, sign-out).
	locked bool
	// setup routes answer a session that must first change its password
	// or turn on two-step sign-in.
	setup bool
}

var (
	anyone    = access{kind: "anyone"}
	setupOnly = access{kind: "setup"}
	anyStaff  = access{kind: "staff"}
	ownerOnly = access{kind: "staff", roles: []string{clinic.RoleOwner}}
	// Break-glass is the clinician's: owners see everything anyway, and the
	// front desk never opens clinical queues.
	clinicianOnly = access{kind: "staff", roles: []string{clinic.RoleClinician}}
	lockedOK      = access{kind: "staff", locked: true, setup: true}
	accountOK     = access{kind: "staff", setup: true}
	patientAny    = access{kind: "patient"}
	signedHook    = access{kind: "hook"}
)

type handler func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error

type route struct {
	method  string
	pattern string
	access  access
	h       handler
}

// reqCtx is what the access check learned about the caller.
type reqCtx struct {
	staff   *clinic.Staff
	session *clinic.Session
	token   string
	actor   clinic.Actor
	patient *patientSession // set by the patient access check
}

// routeTable is every route Hearth serves. Browser pages and the JSON API
// are kept visibly apart.
func (s *Server) routeTable() []route {
	return []route{
		// Health and static files.
		{"GET", "/healthz", anyone, s.handleHealth},
		{"GET", "/s/{hash}/{file...}", anyone, s.handleStatic},
		{"GET", "/favicon.ico", anyone, s.handleFavicon},
		{"GET", "/urgent-words.json", anyone, s.handleUrgentWords},

		// First-run setup (one-time link printed by the server).
		{"GET", "/setup/{token}", setupOnly, s.handleSetupForm},
		{"POST", "/setup/{token}", setupOnly, s.handleSetupSave},
		{"GET", "/setup/{token}/kit", setupOnly, s.handleSetupKit},

		// Staff console (one page; the API below does the work).
		{"GET", "/staff/", anyone, s.handleConsole},

		// Staff JSON API.
		{"POST", "/api/v1/login", anyone, s.handleLogin},
		{"POST", "/api/v1/unlock", anyone, s.handleVaultUnlock},
		{"POST", "/api/v1/settings/passphrase", ownerOnly, s.handleVaultPassphrase},
		{"POST", "/api/v1/settings/test-email", ownerOnly, s.handleTestMail},
		{"POST", "/api/v1/logout", lockedOK, s.handleLogout},
		{"GET", "/api/v1/session", lockedOK, s.handleSession},
		{"GET", "/api/v1/meta", anyStaff, s.handleMeta},
		{"POST", "/api/v1/session/lock", lockedOK, s.handleLock},
		{"POST", "/api/v1/session/unlock", lockedOK, s.handleUnlock},
		{"POST", "/api/v1/me/password", accountOK, s.handleMyPassword},
		{"POST", "/api/v1/me/pin", anyStaff, s.handleMyPIN},
		{"POST", "/api/v1/me/totp", accountOK, s.handleMyTOTPStart},
		{"POST", "/api/v1/me/totp/confirm", accountOK, s.handleMyTOTPConfirm},
		{"DELETE", "/api/v1/me/totp", anyStaff, s.handleMyTOTPOff},
		{"GET", "/api/v1/staff", anyStaff, s.handleStaffList},
		{"POST", "/api/v1/staff", ownerOnly, s.handleStaffCreate},
		{"PATCH", "/api/v1/staff/{id}", ownerOnly, s.handleStaffUpdate},
		{"POST", "/api/v1/staff/{id}/reset-password", ownerOnly, s.handleStaffResetPassword},
		{"DELETE", "/api/v1/staff/{id}/totp", ownerOnly, s.handleStaffTOTPOff},
		{"GET", "/api/v1/audit", ownerOnly, s.handleAuditList},
		{"GET", "/api/v1/settings", ownerOnly, s.handleSettingsGet},
		{"PUT", "/api/v1/settings", ownerOnly, s.handleSettingsSave},
		{"POST", "/api/v1/patients", anyStaff, s.handlePatientCreate},
		{"GET", "/api/v1/patients", anyStaff, s.handlePatientSearch},
		{"GET", "/api/v1/patients/{id}", anyStaff, s.handlePatientGet},
		{"POST", "/api/v1/patients/{id}/invites", anyStaff, s.handleInviteCreate},
		{"POST", "/api/v1/patients/{id}/break-glass", clinicianOnly, s.handleBreakGlass},
		{"GET", "/api/v1/items", anyStaff, s.handleItemList},
		{"POST", "/api/v1/items", anyStaff, s.handleItemCreate},
		{"GET", "/api/v1/items/{id}", anyStaff, s.handleItemGet},
		{"POST", "/api/v1/items/{id}/messages", anyStaff, s.handleItemMessage},
		{"POST", "/api/v1/items/{id}/assign", anyStaff, s.handleItemAssign},
		{"POST", "/api/v1/items/{id}/status", anyStaff, s.handleItemStatus},
		{"POST", "/api/v1/items/{id}/queue", anyStaff, s.handleItemQueue},
		{"POST", "/api/v1/items/{id}/attempts", anyStaff, s.handleItemAttempt},
		{"GET", "/api/v1/items/{id}/templates/{tid}", anyStaff, s.handleTemplateRender},
		{"GET", "/api/v1/items/{id}/chart", anyStaff, s.handleChartCopy},
		{"GET", "/api/v1/templates", anyStaff, s.handleTemplates},
		{"GET", "/api/v1/sweep", anyStaff, s.handleSweep},
		{"GET", "/api/v1/workload", anyStaff, s.handleWorkload},
		{"GET", "/api/v1/patients/{id}/items", anyStaff, s.handlePatientItems},
		{"GET", "/api/v1/patients/{id}/devices", anyStaff, s.handlePatientDevices},
		{"GET", "/api/v1/patients/{id}/access", anyStaff, s.handlePatientAccess},
		{"DELETE", "/api/v1/devices/{id}", anyStaff, s.handleDeviceRevoke},
		{"POST", "/api/v1/contacts/{id}/link", anyStaff, s.handleContactLink},
		{"GET", "/api/v1/files/{id}", anyStaff, s.handleFileGet},
		{"POST", "/api/v1/appointments", anyStaff, s.handleApptCreate},
		{"GET", "/api/v1/appointments", anyStaff, s.handleApptList},
		{"POST", "/api/v1/appointments/import", anyStaff, s.handleApptImport},
		{"POST", "/api/v1/items/{id}/book", anyStaff, s.handleItemBook},
		{"GET", "/api/v1/ws", anyStaff, s.handleWS},
		{"GET", "/api/v1/backup/status", ownerOnly, s.handleBackupStatus},
		// Corrections (issue 14): any staff member corrects a record, as any
		// may create one; merging cannot be undone, so it is the owner's.
		{"PATCH", "/api/v1/patients/{id}", anyStaff, s.handlePatientEdit},
		{"POST", "/api/v1/patients/{id}/merge", ownerOnly, s.handlePatientMerge},
		// Reaching out (outreach_api.go).
		{"POST", "/api/v1/patients/{id}/conversations", anyStaff, s.handleConversationCreate},
		{"GET", "/api/v1/patients/{id}/templates/{tid}", anyStaff, s.handlePatientTemplate},
		{"GET", "/api/v1/patients/{id}/channels", anyStaff, s.handlePatientChannels},
		{"GET", "/api/v1/oncall", anyStaff, s.handleOnCallGet},
		{"PUT", "/api/v1/oncall", ownerOnly, s.handleOnCallSave},
		{"POST", "/api/v1/items/{id}/oncall/ack", anyStaff, s.handleItemPageAck},
		{"POST", "/api/v1/notices", anyStaff, s.handleNotice},
		{"GET", "/api/v1/notices", anyStaff, s.handleNoticeList},
		{"GET", "/api/v1/notices/{id}", anyStaff, s.handleNoticeReport},

		// Patient pages (HTML forms). Public pages check their own csrf
		// token on POST; "patient" pages resolve the device or contact
		// cookie (authPatient) and send signed-out visitors to sign in.
		{"GET", "/{$}", anyone, s.pp(s.pageLanding)},
		{"GET", "/i", anyone, s.pp(s.pageCode)},
		{"GET", "/i/{code}", anyone, s.pp(s.pageInviteForm)},
		{"POST", "/i/{code}", anyone, s.pp(s.pageInviteRedeem)},
		{"GET", "/contact", anyone, s.pp(s.pageContactForm)},
		{"POST", "/contact", anyone, s.pp(s.pageContactSend)},
		{"GET", "/c/{token}", anyone, s.pp(s.pageLinkForm)},
		{"POST", "/c/{token}", anyone, s.pp(s.pageLinkCheck)},
		{"GET", "/letter", anyone, s.pp(s.pageLetterForm)},
		{"POST", "/letter", anyone, s.pp(s.pageLetterSend)},
		{"POST", "/signout", anyone, s.pp(s.pageSignOut)},
		{"GET", "/me", patientAny, s.pp(s.pageHome)},
		{"GET", "/me/access", patientAny, s.pp(s.pageAccess)},
		{"POST", "/me/devices/{id}/revoke", patientAny, s.pp(s.pageRevoke)},
		{"GET", "/new", patientAny, s.pp(s.pageCompose)},
		{"POST", "/new", patientAny, s.pp(s.pageSend)},
		{"GET", "/t/{id}", patientAny, s.pp(s.pageThread)},
		{"GET", "/f/{id}", patientAny, s.pp(s.pageFile)},
		{"POST", "/a/{id}", patientAny, s.pp(s.pageApptAnswer)},
		{"POST", "/me/email", patientAny, s.pp(s.pageEmailToggle)},
		{"GET", "/link", anyone, s.pp(s.pageLinkRequest)},
		{"POST", "/link", anyone, s.pp(s.pageLinkRequest)},
		{"GET", "/l/{token}", anyone, s.pp(s.pageLinkUse)},
		{"POST", "/l/{token}", anyone, s.pp(s.pageLinkUse)},
		{"GET", "/u/{patient}/{mac}", anyone, s.pp(s.pageUnsubscribe)},
		{"POST", "/u/{patient}/{mac}", anyone, s.pp(s.pageUnsubscribe)},
		{"GET", "/a/{file}", patientAny, s.pp(s.pageApptICS)},
		{"POST", "/t/{id}/reply", patientAny, s.pp(s.pageReply)},
		{"POST", "/t/{id}/callback", patientAny, s.pp(s.pageCallback)},
		{"POST", "/t/{id}/feedback", patientAny, s.pp(s.pageFeedback)},

		// Text messages (texts_api.go): the owner's settings test, state
		// and outbox view; the patient's own answer on /me; the gateway's
		// webhook, which needs its signature, never a session or CSRF token.
		{"POST", "/api/v1/settings/test-text", ownerOnly, s.handleTestText},
		{"GET", "/api/v1/sms/status", ownerOnly, s.handleSMSStatus},
		{"GET", "/api/v1/outbox", ownerOnly, s.handleOutbox},
		{"POST", "/me/texts", patientAny, s.pp(s.pageTextsToggle)},
		{"POST", "/hooks/sms/gateway", signedHook, s.handleSMSHook},
		// The "I've got it" link in an on-call page (outreach_api.go).
		{"GET", "/oncall/{page}/{token}", anyone, s.pp(s.pageOnCallAck)},
		{"POST", "/oncall/{page}/{token}", anyone, s.pp(s.pageOnCallAck)},
	}
}

// sessionCookie is the staff session cookie's name: __Host- under TLS
// (no Domain, Path=/, Secure), which a subdomain cannot overwrite.
func (s *Server) sessionCookie() string {
	if s.tls {
		return "__Host-hearth_staff"
	}
	return "hearth_staff"
}

func isSafeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

// wrap applies a route's access rule, the body limit and CSRF checks, then
// runs the handler and writes its error.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody(r))
		rc := &reqCtx{actor: clinic.Actor{Kind: clinic.ActorSystem, Client: clientAddr(r)}}
		if !s.staffAllowed(r, rt) {
			s.refuse(w, r, errStaffNetwork)
			return
		}
		if err := s.authorize(w, r, rt, rc); err != nil {
			s.refuse(w, r, err)
			return
		}
		if err := rt.h(w, r, rc); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// refuse answers a request turned away before its body was read. The
// body is not wanted: the connection closes after the answer rather than
// net/http reading on to reuse it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if !isSafeMethod(r.Method) {
		w.Header().Set("Connection", "close")
	}
	s.writeError(w, r, err)
}

// maxBody is 1 MB for everything but a patient's compose form, which may
// carry three 10 MB attachments.
func maxBody(r *http.Request) int64 {
	if r.Method == "POST" && r.URL.Path == "/new" {
		return 3*clinic.MaxAttachmentSize + 1<<20
	}
	if r.Method == "POST" && r.URL.Path == "/api/v1/appointments/import" {
		return 8 << 20 // a day's export of a clinic group
	}
	return 1 << 20
}

// staffRoute is a route only staff use: the console, the staff API
// (sign-in, vault unlock and the websocket included) and first-run setup.
func staffRoute(rt route) bool {
	return rt.access.kind == "staff" || rt.access.kind == "setup" || rt.pattern == "/staff/" || strings.HasPrefix(rt.pattern, "/api/")
}

// staffAllowed applies --staff-from: staff routes answer only the networks
// it names (by the believed client address); patient pages answer everyone.
func (s *Server) staffAllowed(r *http.Request, rt route) bool {
	if len(s.staff) == 0 || !staffRoute(rt) {
		return true
	}
	a, err := netip.ParseAddr(clientAddr(r))
	return err == nil && inPrefixes(a, s.staff)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rt route, rc *reqCtx) error {
	if !isSafeMethod(r.Method) {
		// Browsers say where a request comes from; refuse cross-site state changes.
		if err := s.cop.Check(r); err != nil {
			return errCSRF
		}
	}
	switch rt.access.kind {
	case "anyone", "hook":
		return nil
	case "setup":
		if s.setup == nil || subtle.ConstantTimeCompare([]byte(r.PathValue("token")), []byte(s.setup.Token)) != 1 {
			return errNotFound
		}
		return nil
	case "staff":
		return s.authStaff(r, rt, rc)
	case "patient":
		return s.authPatient(r, rt, rc)
	}
	return errForbidden
}

func (s *Server) authStaff(r *http.Request, rt route, rc *reqCtx) error {
	ck, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return errUnauthorized
	}
	// Neither a websocket nor a refresh the console makes by itself (a live
	// event) is the person being active: neither keeps the session awake.
	touch := r.URL.Path != "/api/v1/ws" && r.Header.Get("X-Hearth-Background") == ""
	sess, st, err := s.c.SessionFor(r.Context(), ck.Value, touch)
	if errors.Is(err, clinic.ErrSessionEnded) || errors.Is(err, clinic.ErrNotFound) {
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	if sess.Locked && !rt.access.locked {
		return errSessionLocked
	}
	if !rt.access.setup && s.needsAccountSetup(r, st) {
		return errRestricted
	}
	if !isSafeMethod(r.Method) && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(sess.CSRF)) != 1 {
		return errCSRF
	}
	if rt.access.roles != nil && !slices.Contains(rt.access.roles, st.Role) {
		return errForbidden
	}
	rc.staff, rc.session, rc.token = &st, &sess, ck.Value
	rc.actor = clinic.Actor{Kind: clinic.ActorStaff, ID: st.ID, Role: st.Role, Client: clientAddr(r)}
	return nil
}

// needsAccountSetup: a reset password must be replaced, and where the owner
// requires two-step sign-in it must be turned on, before anything else.
func (s *Server) needsAccountSetup(r *http.Request, st clinic.Staff) bool {
	if st.MustChangePassword {
		return true
	}
	settings, _ := s.c.Settings(r.Context())
	return settings.RequireTOTP && !st.TOTPEnabled
}
