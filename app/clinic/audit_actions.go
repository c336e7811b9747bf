package clinic

import "hearth/app/audit"

// AuditActions is every action Hearth writes to the audit trail, in the
// order the owner's action picker lists them (patient records first, then
// requests, appointments, staff, the clinic and the trail itself). Each has
// plain words in the message catalogue under "audit.action.<action>"
// (AuditActionList); TestAuditActionsHaveWords holds that.
var AuditActions = []string{
	"patient.read", "patient.search_result", "patient.items", "patient.create", "patient.edit", "patient.merge", "patient.merged_into",
	"patient.lang", "patient.email_replies",
	"item.list", "item.read", "item.create", "item.message", "item.assign", "item.status", "item.queue", "item.book",
	"item.call_attempt",
	"conversation.start", "conversation.schedule", "conversation.read", "notice.preview", "notice.send", "notice.report",
	"oncall.change", "oncall.ack", "oncall.escalate", "oncall.unanswered",
	"invite.text", "patient.sms_consent", "patient.sms_stop", "patient.sms_start", "sms.test", "item.export", "item.link", "item.feedback", "file.read", "breakglass.open", "record.open",
	"appointment.list", "appointment.create", "appointment.import", "appointment.remind",
	"appointment.confirm", "appointment.cancel", "appointment.reschedule",
	"contact.create", "contact.dob_check", "contact.link", "invite.create", "invite.dob_check",
	"signin_link.request", "signin_link.dob_check", "device.add", "device.revoke",
	"staff.signin", "staff.signin_totp", "staff.signout", "staff.switch_out", "session.lock", "session.unlock",
	"staff.create", "staff.change", "staff.password_change", "staff.password_reset", "staff.pin_change",
	"staff.totp_on", "staff.totp_off",
	"settings.change", "mail.test", "clinic.setup", "setup.kit_shown", "bulk.load",
	"vault.unlock", "vault.recover", "vault.passphrase_on", "vault.passphrase_off", "vault.passphrase_recovered",
	"backup.write", "backup.scheduled",
	ActionAuditRead, "audit.export", audit.ActionIntegrity, audit.ActionHeadSealed,
}

// ActionAuditRead is the event the owner's audit screen writes each time it
// shows a page: it names patients, so looking at it is itself a look at
// their records (Patients lists those the page named).
const ActionAuditRead = "audit.read"

// AuditAction is one entry of the owner's action picker: the action's name
// (what the filter takes) and its plain words.
type AuditAction struct {
	Action string `json:"action"`
	Words  string `json:"words"`
}

// AuditActionList is AuditActions with their words in lang.
func (c *Clinic) AuditActionList(lang string) []AuditAction {
	out := make([]AuditAction, 0, len(AuditActions))
	for _, a := range AuditActions {
		out = append(out, AuditAction{Action: a, Words: c.auditActionWords(lang, a)})
	}
	return out
}

// auditActionWords are an action's plain words in lang, in English when the
// language lacks them, or the action's own name when nothing has words for
// it (an action newer than the table).
func (c *Clinic) auditActionWords(lang, action string) string {
	for _, l := range []string{lang, "en"} {
		if w, ok := c.words.Text(l, "audit.action."+action); ok {
			return w
		}
	}
	return action
}
