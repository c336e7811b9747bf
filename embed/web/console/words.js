// Words the console shows for the clinic's domain values (types,
// statuses, outcomes, fields, audit actions). The values themselves, and
// which of them each type has, come from the server (meta.js): a value
// with no words here shows as itself.

import { h, icon } from './dom.js';

// --- Types (an alert says only the queue and the type, never a patient)

const typeInfo = {
  message: { label: 'Message', word: 'message', icon: 'message' },
  refill: { label: 'Refill', word: 'refill request', icon: 'refill' },
  appointment: { label: 'Appointment', word: 'appointment request', icon: 'appointment' },
  callback: { label: 'Call back', word: 'call-back request', icon: 'callback' },
  billing: { label: 'Billing', word: 'billing question', icon: 'billing' },
  records: { label: 'Records', word: 'records request', icon: 'records' },
  invite_request: { label: 'Sign-in link', word: 'sign-in link request', icon: 'key' },
  appointment_reply: { label: 'Appointment reply', word: 'appointment reply', icon: 'reply' },
};
export const typeLabel = (t) => (typeInfo[t] && typeInfo[t].label) || t || '';
export const typeWord = (t) => (typeInfo[t] && typeInfo[t].word) || 'request';

const statusNames = { new: 'New', open: 'Open', waiting: 'Waiting', closed: 'Closed' };
export const statusName = (s) => statusNames[s] || s || '';

export const outcomeNames = {
  sent_to_pharmacy: 'Sent to the pharmacy', needs_visit: 'Needs a visit first', declined: 'Declined',
  booked: 'Booked', offered_times: 'Offered times', called: 'Called the patient', no_answer_closed: 'No answer, closed',
};

export const fieldNames = {
  subject: 'Subject', medication: 'Medication', dose: 'Dose', pharmacy: 'Pharmacy', reason: 'Reason for the visit',
  preferred: 'Preferred times', provider: 'Provider', phone: 'Number to call', best_time: 'Best time to call',
  name: 'Name given', dob: 'Birth date given', appointment_id: 'Appointment',
};

export const accessWords = {
  'patient.read': 'Opened the record', 'patient.create': 'Created the record', 'patient.search_result': 'Found it in a search',
  'patient.items': 'Listed the requests', 'item.read': 'Read a request', 'item.list': 'Saw the name in the inbox',
  'item.message': 'Wrote in a request', 'item.assign': 'Assigned a request', 'item.status': 'Changed a request\u2019s status',
  'item.create': 'Filed a request', 'item.export': 'Copied a request for the chart', 'item.call_attempt': 'Logged a call attempt',
  'item.link': 'Linked a request to the record', 'contact.link': 'Linked an unverified contact', 'invite.create': 'Made a sign-in invitation',
  'device.revoke': 'Signed out a device', 'device.add': 'Signed in a new device', 'breakglass.open': 'Opened it outside their queues (with a reason)',
  'item.feedback': 'Answered whether it helped',
  'item.queue': 'Moved a request to another queue',
  'conversation.start': 'Wrote to the patient', 'conversation.schedule': 'Scheduled a message to the patient',
  'conversation.read': 'The patient read a message from the clinic', 'oncall.ack': 'Took an urgent request on call',
  'oncall.escalate': 'Paged the next person on call', 'oncall.unanswered': 'Nobody took an on-call page',
  'notice.preview': 'Previewed a notice to many', 'notice.report': 'Read a notice\u2019s report',
};

export function typeBadge(type) {
  return h('span', { class: `type t-${type}` }, icon((typeInfo[type] && typeInfo[type].icon) || 'message', 16), typeLabel(type));
}

export function urgentBadge() {
  return h('span', { class: 'badge urgent' }, icon('alert', 14), 'Urgent');
}
