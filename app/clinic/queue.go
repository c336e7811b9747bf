package clinic

import "slices"

// Item types.
const (
	TypeMessage       = "message"
	TypeRefill        = "refill"
	TypeAppointment   = "appointment"
	TypeCallback      = "callback"
	TypeBilling       = "billing"
	TypeRecords       = "records"
	TypeInviteRequest = "invite_request"
	TypeApptReply     = "appointment_reply"
)

// ItemTypes are the kinds of request an item can be.
var ItemTypes = []string{TypeMessage, TypeRefill, TypeAppointment, TypeCallback, TypeBilling, TypeRecords, TypeInviteRequest, TypeApptReply}

// PatientTypes are the kinds a patient composes.
var PatientTypes = []string{TypeMessage, TypeRefill, TypeAppointment, TypeCallback}

// Statuses.
const (
	StatusNew     = "new"
	StatusOpen    = "open"
	StatusWaiting = "waiting"
	StatusClosed  = "closed"
)

// Statuses in the order staff work them.
var Statuses = []string{StatusNew, StatusOpen, StatusWaiting, StatusClosed}

// Priorities.
const (
	PriorityUrgent = "urgent"
	PriorityNormal = "normal"
)

// Queue is one shared list; Roles may see and work its items.
type Queue struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// DefaultQueues: the front desk handles scheduling, call-backs and first
// reads of general messages; clinicians the clinical and refill queues;
// billing questions stay with the front desk. Owners see everything.
func DefaultQueues() []Queue {
	return []Queue{
		{ID: "frontdesk", Name: "Front desk", Roles: []string{RoleFrontDesk, RoleClinician}},
		{ID: "clinical", Name: "Clinical", Roles: []string{RoleClinician}},
		{ID: "refills", Name: "Refills", Roles: []string{RoleClinician}},
		{ID: "billing", Name: "Billing", Roles: []string{RoleFrontDesk}},
	}
}

// DefaultRoutes sends each item type to a queue.
func DefaultRoutes() map[string]string {
	return map[string]string{
		TypeMessage: "frontdesk", TypeRefill: "refills", TypeAppointment: "frontdesk", TypeCallback: "frontdesk",
		TypeBilling: "billing", TypeRecords: "frontdesk", TypeInviteRequest: "frontdesk", TypeApptReply: "frontdesk",
	}
}

// UrgentQueue is where urgent items go whatever their type.
const UrgentQueue = "clinical"

// MayQueue reports whether a staff role may work a queue.
func (s Settings) MayQueue(role, queue string) bool { return s.mayQueue(role, queue) }

func (s Settings) mayQueue(role, queue string) bool {
	if role == RoleOwner {
		return true
	}
	for _, q := range s.queues() {
		if q.ID == queue {
			return slices.Contains(q.Roles, role)
		}
	}
	return false
}

func (s Settings) queues() []Queue {
	if len(s.Queues) == 0 {
		return DefaultQueues()
	}
	return s.Queues
}

func (s Settings) route(typ string, urgent bool) string {
	if urgent {
		return UrgentQueue
	}
	routes := s.Routes
	if routes == nil {
		routes = DefaultRoutes()
	}
	if q, ok := routes[typ]; ok {
		return q
	}
	return "frontdesk"
}

// QueuesFor lists the queues a role may see.
func (s Settings) QueuesFor(role string) []Queue {
	var out []Queue
	for _, q := range s.queues() {
		if s.mayQueue(role, q.ID) {
			out = append(out, q)
		}
	}
	return out
}
