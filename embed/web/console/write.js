// "Write to a patient" (#/write, #/write/PATIENT): find the patient (name,
// birth date and a same-name warning, as everywhere), choose what it is
// about, write a subject and a body (or start from a template in the
// patient's language), and send it now or on a day in the clinic's time
// zone. The answer says where the patient was told, or that nobody could
// be told and the front desk should call.

import { api } from './api.js';
import { add, backLink, debounce, errorBox, fact, field, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { clinicDay, dayAfter, formatDOB, formatTime, langNames, plural } from './format.js';

// What a conversation can be about (the server's ConversationTypes).
export const conversationTypes = [
  ['message', 'Message'], ['results', 'Results ready'], ['recall', 'Recall (time for a visit)'], ['billing', 'Billing'], ['other', 'Other'],
];

export function viewWrite(c, ctx) {
  if (ctx.arg) return writeTo(c, ctx, ctx.arg);
  const q = field('wsearch', {
    name: 'q', label: 'Who are you writing to?', type: 'search',
    hint: 'First letters of a name, a birth date like 03/14/1961, or a phone number.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  });
  const status = h('p', { class: 'status-line', role: 'status', id: 'wsearch-status' });
  const results = h('ul', { class: 'plain pick-list', id: 'write-results' });
  add(c, viewHead('Write to a patient'),
    h('form', { role: 'search', class: 'search', 'aria-label': 'Find the patient', novalidate: true, onsubmit: (e) => { e.preventDefault(); run(); } }, q.wrap),
    status, results);
  let seq = 0;
  q.input.addEventListener('input', debounce(run, 300));
  async function run() {
    const text = q.input.value.trim();
    const mine = ++seq;
    if (text.length < 2) { put(results); status.textContent = ''; return; }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = r.patients || [];
      // Two people with one name: the birth date tells them apart.
      const names = new Map();
      for (const p of list) names.set(p.name.toLowerCase(), (names.get(p.name.toLowerCase()) || 0) + 1);
      status.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found. Check the birth date.` : 'No patient matches.';
      put(results, list.map((p) => h('li', null, h('a', { href: `#/write/${encodeURIComponent(p.id)}`, class: 'pick' },
        h('strong', null, p.name), ` · born ${formatDOB(p.dob)}`, p.phone ? ` · ${p.phone}` : '',
        names.get(p.name.toLowerCase()) > 1 ? h('span', { class: 'badge warn' }, 'Same name as another patient') : null))));
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      put(results, errorBox(err.message));
    }
  }
  return q.input;
}

function writeTo(c, ctx, pid) {
  const enc = encodeURIComponent(pid);
  const banner = h('section', { class: 'patient-banner', id: 'write-banner', 'aria-label': 'Patient' }, h('p', { class: 'muted' }, 'Loading…'));
  const done = h('div', { id: 'write-done' });
  const formBox = h('div', { class: 'card wide' });
  add(c, backLink('#/write', 'Choose another patient'), viewHead('Write to a patient'), banner, done, formBox);

  const tmpl = h('select', { id: 'write-template', 'aria-label': 'Start from a template' }, h('option', { value: '' }, 'Start from a template…'));
  const when = h('select', { id: 'write-when', 'aria-label': 'When to send it' },
    h('option', { value: 'now' }, 'Send now'), h('option', { value: 'later' }, 'Send on a day'), h('option', { value: 'recall6' }, 'In 6 months (recall)'));
  const f = makeForm('write', [
    { name: 'type', label: 'What is it about?', type: 'select', options: conversationTypes, value: 'message' },
    { name: 'subject', label: 'Subject', hint: 'The patient sees it in their list, like "Your results are in".', attrs: { maxlength: 120 } },
    { node: h('div', { class: 'field' }, tmpl) },
    { name: 'body', label: 'Message', type: 'textarea', rows: 6, attrs: { maxlength: 10000 } },
    { node: h('div', { class: 'field' }, h('label', { for: 'write-when' }, 'When'), when) },
    { name: 'day', label: 'Day (clinic time)', type: 'date', hint: 'It goes out at 9:00 that morning, clinic time.' },
  ], {
    submit: 'Send to the patient', label: 'Write to the patient',
    async onSubmit(v) {
      if (!v.subject.trim()) throw fieldError('subject', 'Write a subject.');
      if (!v.body.trim()) throw fieldError('body', 'Write the message.');
      const body = { type: v.type, subject: v.subject, body: v.body };
      if (when.value === 'later') {
        if (!v.day) throw fieldError('day', 'Choose the day to send it.');
        body.send_local = `${v.day}T09:00`;
      } else if (when.value === 'recall6') {
        body.send_local = `${dayAfter(clinicDay(new Date()), 182)}T09:00`;
      }
      let r;
      try {
        r = await api('POST', `/api/v1/patients/${enc}/conversations`, body);
      } catch (err) {
        if (err.field === 'send_at') err.field = 'day';
        throw err;
      }
      if (!ctx.alive()) return;
      f.el.reset();
      dayField.hidden = true;
      const told = (r.channels || []).length
        ? `The patient was told by ${r.channels.join(' and ')}${r.scheduled ? ' (when it goes out)' : ''}.`
        : 'The patient has no email on file or did not ask for emails: nobody was told. Call them to say a message is waiting.';
      const m = okMessage(r.scheduled ? `Scheduled for ${formatTime(r.send_at)}. ${told}` : `Sent. ${told}`);
      put(done, m, r.scheduled ? null : h('p', null, h('a', { href: `#/inbox/${encodeURIComponent(r.id)}`, id: 'write-open' }, 'Open the conversation')));
      m.focus();
    },
  });
  const dayField = f.fields.day.wrap;
  dayField.hidden = true;
  when.addEventListener('change', () => { dayField.hidden = when.value !== 'later'; });
  put(formBox, f.el);

  api('GET', `/api/v1/patients/${enc}`).then((p) => {
    if (!ctx.alive()) return;
    const n = p.same_name || 0;
    put(banner, h('p', { class: 'pt-name', id: 'write-name' }, p.name),
      h('dl', { class: 'facts inline' }, fact('Born', formatDOB(p.dob)), fact('Phone', p.phone || 'Not given'),
        fact('Email', p.email || 'Not given'), fact('Language', langNames[p.lang] || p.lang || 'English')),
      n > 0 ? h('div', { class: 'warn-banner', role: 'alert', id: 'write-same-name' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
        h('span', null, n === 1 ? 'Another patient has the same name — check the birth date.' : `${n} other patients have the same name — check the birth date.`)) : null);
  }).catch((err) => { if (ctx.alive() && !err.handled) put(banner, errorBox(err.code === 'not_found' ? 'There is no patient record at this address.' : err.message)); });

  // Said before sending: a patient nobody can tell needs a call.
  const reach = h('p', { id: 'write-channels', role: 'status' });
  formBox.before(reach);
  api('GET', `/api/v1/patients/${enc}/channels`).then((r) => {
    if (!ctx.alive()) return;
    const chs = r.channels || [];
    reach.className = chs.length ? 'muted' : 'warn-banner';
    reach.textContent = chs.length ? `The patient will be told by ${chs.join(' and ')} that a message is waiting (no details in it).`
      : 'This patient has no email for notices (none on file, or they did not ask for emails). The message will wait on their page: call them to say so.';
  }).catch(() => {});

  api('GET', '/api/v1/templates').then((r) => {
    if (!ctx.alive()) return;
    for (const t of r.templates || []) add(tmpl, h('option', { value: t.id }, t.name));
  }).catch(() => {});
  tmpl.addEventListener('change', async () => {
    const tid = tmpl.value;
    if (!tid) return;
    try {
      const r = await api('GET', `/api/v1/patients/${enc}/templates/${encodeURIComponent(tid)}`);
      if (ctx.alive()) f.fields.body.input.value = r.text;
    } catch (err) { if (!err.handled) f.error(err); }
    tmpl.value = '';
    f.fields.body.input.focus();
  });
  return f.fields.subject.input;
}
