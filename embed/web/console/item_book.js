// "Book this": the side card of an open appointment request (item_side.js)
// that books the visit from the request itself. The form is prefilled from
// the request (its patient, the day and time the patient asked for when
// their words name one, the provider, the reason) and takes the clinic's
// wall time (format.js), like the board's booking form. One call, POST
// /api/v1/items/{id}/book, creates the appointment, closes the request with
// the two linked and tells the patient.

import { api } from './api.js';
import { doc, fieldError, h, makeForm, okMessage, put } from './dom.js';
import { clinicParts, clinicZone, dayAfter, dayName, formatDOB, formatTime, formatWhen } from './format.js';
import { memory } from './state.js';

const weekdays = [
  ['sunday', 'sun', 'domingo'], ['monday', 'mon', 'lunes'], ['tuesday', 'tue', 'martes'],
  ['wednesday', 'wed', 'miercoles'], ['thursday', 'thu', 'jueves'], ['friday', 'fri', 'viernes'],
  ['saturday', 'sat', 'sabado'],
];

const pad = (n) => String(n).padStart(2, '0');

// suggestTime reads the patient's preferred day and time ("Tuesday
// morning", "el jueves a las 3 de la tarde", "tomorrow 10:30") as the
// clinic's wall time "YYYY-MM-DDTHH:MM" on or after tomorrow, or '' when
// the words name neither a day nor a time. Staff check it: the patient's
// own words are shown beside it.
export function suggestTime(words, now = new Date()) {
  const w = (words || '').toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
  if (!w.trim()) return '';
  const p = clinicParts(now);
  const today = `${p.y}-${pad(p.m)}-${pad(p.d)}`;
  let day = '';
  const wd = weekdays.findIndex((names) => names.some((n) => new RegExp(`\\b${n}`).test(w)));
  if (wd >= 0) {
    const cur = new Date(`${today}T12:00:00Z`).getUTCDay();
    day = dayAfter(today, ((wd - cur + 7) % 7) || 7);
  } else if (/\btomorrow\b/.test(w) || (/\bmanana\b/.test(w) && !/\bla manana\b/.test(w))) {
    day = dayAfter(today, 1);
  }
  let hh = -1;
  let mm = 0;
  const t = /\b(\d{1,2})(?::(\d{2}))?\s*(a\.?\s?m\.?|p\.?\s?m\.?)?(?=\W|$)/.exec(w);
  if (t && +t[1] <= 23 && (t[2] || t[3] || /\b(at|a las|a la)\s+\d/.test(w))) {
    hh = +t[1];
    mm = t[2] ? Math.min(59, +t[2]) : 0;
    const pm = t[3] ? t[3].startsWith('p') : /tarde|afternoon|evening|noche/.test(w) || (hh >= 1 && hh <= 6);
    if (pm && hh < 12) hh += 12;
    if (t[3] && !pm && hh === 12) hh = 0;
  } else if (/\bnoon\b|mediodia/.test(w)) hh = 12;
  else if (/morning|la manana/.test(w)) hh = 9;
  else if (/afternoon|tarde/.test(w)) hh = 14;
  else if (/evening|noche/.test(w)) hh = 16;
  if (!day && hh < 0) return '';
  if (!day) day = dayAfter(today, 1);
  if (hh < 0) hh = 9;
  return `${day}T${pad(hh)}:${pad(mm)}`;
}

// wallTime checks a datetime-local value and answers it as sent, or ''.
function wallTime(v) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(v || '');
  return m ? `${m[1]}T${m[2]}${m[3] || ''}` : '';
}

// bookCard is the side card for x's open appointment request (x.v.item,
// x.v.patient).
export function bookCard(x) {
  const it = x.v.item;
  const p = x.v.patient;
  const fields = it.fields || {};
  const preferred = fields.preferred || '';
  const guess = suggestTime(preferred);
  const zone = clinicZone ? ` (${clinicZone.replace(/_/g, ' ')})` : '';
  const done = h('div', { id: 'itembook-done' });
  const closedOK = h('div', { class: 'field check', id: 'itembook-closed', hidden: true },
    h('input', { type: 'checkbox', id: 'itembook-closed_ok', name: 'closed_ok' }),
    h('label', { for: 'itembook-closed_ok' }, 'Book it anyway: the clinic is closed that day'));
  const f = makeForm('itembook', [
    // The request's patient, shown and not changed here (a patient
    // mismatch the server finds is said beside it).
    { name: 'patient_id', label: 'Patient', value: `${p.name} \u00b7 born ${formatDOB(p.dob)}`, hint: 'The patient who asked.',
      attrs: { readonly: true } },
    { name: 'starts_at', label: 'Date and time', type: 'datetime-local', value: guess,
      hint: preferred ? `In the clinic\u2019s time${zone}. The patient asked for: \u201c${preferred}\u201d${guess ? ` (filled in as ${dayName(guess.slice(0, 10))}; check it)` : ''}.`
        : `In the clinic\u2019s time${zone}.` },
    { node: closedOK },
    { name: 'minutes', label: 'Length (minutes)', type: 'number', value: '15', attrs: { min: 5, max: 480, step: 5, inputmode: 'numeric' } },
    { name: 'provider', label: 'Provider', value: fields.provider || '', attrs: { maxlength: 200 } },
    { name: 'location', label: 'Location', attrs: { maxlength: 200 } },
    { name: 'reason', label: 'Reason', value: fields.reason || '', hint: 'Shown to the patient.', attrs: { maxlength: 200 } },
  ], {
    submit: 'Book and close the request', label: 'Book this appointment', class: 'book-form',
    async onSubmit(v) {
      put(done);
      if (!v.starts_at) throw fieldError('starts_at', 'Give the date and time.');
      const when = wallTime(v.starts_at);
      if (!when) throw fieldError('starts_at', 'Give the date and time, like 12/01/2026 09:30 AM.');
      const minutes = Number(v.minutes || 15);
      if (!Number.isInteger(minutes)) throw fieldError('minutes', 'Give the length in whole minutes.');
      const box = doc.getElementById('itembook-closed_ok');
      const r = await api('POST', `/api/v1/items/${x.enc}/book`, {
        patient_id: p.id, starts_local: when, time_zone: clinicZone || '', minutes,
        provider: v.provider.trim(), location: v.location.trim(), reason: v.reason.trim(),
        confirm_closed_day: !closedOK.hidden && box.checked,
      });
      memory.bookedFlash = { id: x.id, text: `Booked for ${formatWhen(r.appointment.starts_at)}. The request is closed and the patient was told.` };
      await x.load(false);
    },
    onError(err) {
      // A closed day is a warning: it shows beside the time, with the
      // box that books it anyway.
      if (err.code !== 'closed_day') return false;
      closedOK.hidden = false;
      f.fields.starts_at.setError(err.message);
      doc.getElementById('itembook-closed_ok').focus();
      return true;
    },
  });
  f.fields.starts_at.input.addEventListener('change', () => {
    closedOK.hidden = true;
    doc.getElementById('itembook-closed_ok').checked = false;
  });
  return h('section', { class: 'side-card', id: 'itembook', 'aria-labelledby': 'itembook-title' },
    h('h2', { id: 'itembook-title' }, 'Book this'),
    h('p', { class: 'hint' }, 'Books the visit, closes this request and tells the patient when, in their language.'),
    f.el, done);
}

// bookedFlash is the one-time "Booked for …" message after a booking.
export function bookedFlash(x) {
  const f = memory.bookedFlash;
  if (!f || f.id !== x.id) return null;
  memory.bookedFlash = null;
  const m = okMessage(f.text);
  m.id = 'itembook-ok';
  return m;
}

// bookedLine is the thread's "Booked: <day time>" with a link to the
// appointment on the board.
export function bookedLine(it) {
  const b = it && it.booking;
  if (!b) return ['Booked.'];
  const link = h('a', { href: '#/appointments', id: 'booked-link', title: formatTime(b.starts_at),
    onclick: () => { memory.boardAppt = b.appt_id; } }, formatWhen(b.starts_at));
  return ['Booked: ', link, h('span', { class: 'vh' }, ' (open it on the board)')];
}
