// Notices to many (#/notices, #/notices/ID): choose the recipients (a
// day's appointments, one provider's, everyone with email, or a pasted
// list), write the words (and, optionally, the Spanish ones), preview the
// count, each language's rendering and who has no channel (a phone list),
// then send; over 50 recipients the count is typed back. Each notice has a
// report: delivered, read, failed, and who still needs a call.

import { api } from './api.js';
import { add, backLink, errorBox, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { clinicDay, dayAfter, formatDOB, formatTime, langNames, plural } from './format.js';
import { memory, state } from './state.js';
import { conversationTypes } from './write.js';

const modes = [['day', 'Patients with appointments on a day'], ['provider', 'One provider\u2019s patients on a day'],
  ['everyone', 'Everyone with email'], ['list', 'A list I paste (name, birth date per line)']];

export function viewNotices(c, ctx) {
  if (ctx.arg) return viewReport(c, ctx, ctx.arg);
  const preview = h('div', { id: 'notice-preview', 'aria-live': 'polite' });
  const past = h('section', { class: 'card', id: 'notice-list', 'aria-labelledby': 'nl-title' }, h('h2', { id: 'nl-title' }, 'Sent notices'));
  let last = null; // the preview the send button confirms
  const f = makeForm('notice', [
    { group: 'Who gets it', items: [
      { name: 'mode', label: 'Recipients', type: 'select', options: modes, value: 'day' },
      { name: 'day', label: 'Day (clinic time)', type: 'date', value: dayAfter(clinicDay(new Date()), 1) },
      { name: 'provider', label: 'Provider', hint: 'As on the appointment board, like Dr. Lee.' },
      { name: 'list', label: 'Patients', type: 'textarea', rows: 5, hint: 'One per line: the full name and the birth date, like Rosa Delgado, 03/14/1961.' },
    ] },
    { group: 'What it says', items: [
      { name: 'type', label: 'What is it about?', type: 'select', options: conversationTypes, value: 'message' },
      { name: 'subject', label: 'Subject', attrs: { maxlength: 120 } },
      { name: 'body', label: 'Message', type: 'textarea', rows: 5 },
      { name: 'subject_es', label: 'Subject in Spanish (optional)', attrs: { maxlength: 120 } },
      { name: 'body_es', label: 'Message in Spanish (optional)', type: 'textarea', rows: 4, hint: 'Patients who read Spanish get these words; without them, the English ones.' },
    ] },
  ], {
    submit: 'Preview', label: 'New notice',
    async onSubmit(v) { await run(v, false); },
  });
  const showMode = () => {
    const m = f.fields.mode.input.value;
    f.fields.day.wrap.hidden = m !== 'day' && m !== 'provider';
    f.fields.provider.wrap.hidden = m !== 'provider';
    f.fields.list.wrap.hidden = m !== 'list';
  };
  // An uploaded list (a .txt or .csv export) fills the same box, to check
  // before previewing.
  const upload = h('input', { type: 'file', id: 'notice-file', accept: '.txt,.csv,text/plain,text/csv' });
  upload.addEventListener('change', async () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    if (file.size > 512 * 1024) { f.fields.list.setError('That file is too large for a list of patients.'); return; }
    f.fields.list.input.value = (await file.text()).replace(/\r\n/g, '\n');
    f.fields.list.clear();
  });
  add(f.fields.list.wrap, h('label', { for: 'notice-file', class: 'hint' }, 'Or upload the list as a text or CSV file:'), upload);
  f.fields.mode.input.addEventListener('change', showMode);
  showMode();
  add(c, viewHead('Notices'), h('p', { class: 'muted' }, 'One message to many patients. Each gets their own conversation: replies come back privately to the inbox.'),
    h('div', { class: 'card wide' }, f.el), preview, past);

  function request(v, send, confirm) {
    const b = { type: v.type, subject: v.subject, body: v.body, send };
    if (v.mode === 'day' || v.mode === 'provider') b.appointments_on = v.day;
    if (v.mode === 'provider') b.provider = v.provider;
    if (v.mode === 'everyone') b.everyone = true;
    if (v.mode === 'list') b.list = v.list;
    if (v.subject_es.trim() || v.body_es.trim()) b.translations = { es: { subject: v.subject_es, body: v.body_es } };
    if (confirm) b.confirm_count = confirm;
    return b;
  }
  async function run(v, send, confirm) {
    if (!v.subject.trim()) throw fieldError('subject', 'Write a subject.');
    if (!v.body.trim()) throw fieldError('body', 'Write the message.');
    if (v.mode === 'list' && !v.list.trim()) throw fieldError('list', 'Paste at least one patient.');
    let r;
    try {
      r = await api('POST', '/api/v1/notices', request(v, send, confirm));
    } catch (err) {
      if (err.field === 'appointments_on') err.field = 'day';
      if (err.field === 'recipients' || err.field === 'patient_ids') err.field = f.fields.mode.input.value === 'list' ? 'list' : 'day';
      if (err.field && err.field.startsWith('translations.es.')) err.field = `${err.field.slice(16)}_es`;
      throw err;
    }
    if (!ctx.alive()) return;
    if (send) {
      memory.flash = `Notice sent to ${plural(r.recipients, 'patient', 'patients')}.`;
      location.hash = `#/notices/${encodeURIComponent(r.id)}`;
      return;
    }
    last = { v, r };
    showPreview(r);
  }

  function showPreview(r) {
    const confirmIn = r.confirm ? h('input', { id: 'notice-confirm', type: 'text', inputmode: 'numeric', autocomplete: 'off' }) : null;
    const sendMsg = h('div', { id: 'notice-send-msg' });
    const sendBtn = h('button', { type: 'button', class: 'primary', id: 'notice-send' }, `Send to ${plural(r.recipients, 'patient', 'patients')}`);
    sendBtn.addEventListener('click', async () => {
      put(sendMsg);
      const typed = confirmIn ? Number(confirmIn.value.trim()) : 0;
      if (confirmIn && typed !== r.recipients) {
        put(sendMsg, h('p', { class: 'err', role: 'alert' }, `Type ${r.recipients} to confirm.`));
        confirmIn.focus();
        return;
      }
      try { await run(last.v, true, typed); } catch (err) { if (!err.handled) put(sendMsg, h('p', { class: 'err', role: 'alert' }, err.message)); }
    });
    const title = h('h2', { id: 'np-title', tabindex: '-1' }, `Preview: ${plural(r.recipients, 'patient', 'patients')}`);
    put(preview, h('section', { class: 'card wide', 'aria-labelledby': 'np-title' }, title,
      (r.renderings || []).map((x) => h('div', { class: 'sub-card rendering', 'data-lang': x.lang },
        h('h3', null, `${langNames[x.lang] || x.lang}: ${plural(x.count, 'patient', 'patients')}`),
        h('p', null, h('strong', null, x.subject)), h('p', { class: 'msg-body' }, x.body),
        h('p', { class: 'muted' }, `Email: “${x.email_subject}”`))),
      r.no_channel && r.no_channel.length ? h('div', { class: 'sub-card', id: 'notice-nochannel' },
        h('h3', null, `${plural(r.no_channel.length, 'patient has', 'patients have')} no email: call them`),
        h('ul', { class: 'plain' }, r.no_channel.map((p) => h('li', null, h('strong', null, p.name), ` · born ${formatDOB(p.dob)} · ${p.phone || 'no phone on file'}`)))) : null,
      r.unmatched && r.unmatched.length ? h('p', { class: 'warn-banner', id: 'notice-unmatched' },
        `No single patient matches line ${r.unmatched.join(', ')} of the list: check the name and birth date.`) : null,
      confirmIn ? h('div', { class: 'field' }, h('label', { for: 'notice-confirm' }, `This goes to ${r.recipients} patients. Type ${r.recipients} to confirm.`), confirmIn) : null,
      sendMsg, h('div', { class: 'actions' }, sendBtn)));
    title.focus();
  }

  api('GET', '/api/v1/notices').then((r) => {
    if (!ctx.alive()) return;
    const list = r.notices || [];
    add(past, list.length ? h('ul', { class: 'plain' }, list.map((n) => h('li', null,
      h('a', { href: `#/notices/${encodeURIComponent(n.id)}` }, n.subject), ` · ${formatTime(n.created)} · `,
      `${n.made} of ${plural(n.recipients, 'patient', 'patients')}`)))
      : h('p', { class: 'muted' }, 'No notices yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) add(past, errorBox(err.message)); });
  return f.fields.mode.input;
}

const stateWords = { pending: 'Being made', no_channel: 'No email: call', queued: 'Waiting to send', sent: 'Delivered', failed: 'Failed: call' };

function viewReport(c, ctx, id) {
  const flash = memory.flash;
  memory.flash = '';
  const body = h('div', { id: 'notice-report', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  const title = h('h1', { tabindex: '-1' }, 'Notice');
  add(c, backLink('#/notices', 'Back to notices'), flash ? okMessage(flash) : null, h('div', { class: 'view-head' }, title), body);
  let timer = 0;
  const load = () => api('GET', `/api/v1/notices/${encodeURIComponent(id)}`, undefined, { background: true }).then((r) => {
    if (!ctx.alive()) return;
    title.textContent = r.subject;
    const calls = r.rows.filter((x) => x.need_call);
    put(body,
      h('dl', { class: 'facts inline', id: 'notice-counts' },
        h('div', null, h('dt', null, 'Recipients'), h('dd', null, String(r.recipients))),
        h('div', null, h('dt', null, 'Conversations'), h('dd', { id: 'notice-made' }, r.done ? String(r.made) : `${r.made} (still making them)`)),
        h('div', null, h('dt', null, 'Delivered'), h('dd', { id: 'notice-delivered' }, String(r.delivered))),
        h('div', null, h('dt', null, 'Read'), h('dd', { id: 'notice-read' }, String(r.read))),
        h('div', null, h('dt', null, 'Failed'), h('dd', null, String(r.failed))),
        h('div', null, h('dt', null, 'Still need a call'), h('dd', { id: 'notice-needcall' }, String(r.need_call)))),
      calls.length ? h('section', { class: 'card', 'aria-labelledby': 'nc-title', id: 'notice-calls' }, h('h2', { id: 'nc-title' }, 'Front desk: call these patients'),
        h('ul', { class: 'plain' }, calls.map((x) => h('li', null, h('strong', null, x.name), ` · born ${formatDOB(x.dob)} · ${x.phone || 'no phone on file'}`)))) : null,
      h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'notice-rows' },
        h('thead', null, h('tr', null, ['Patient', 'Born', 'Notice', 'Read'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, r.rows.map((x) => h('tr', null,
          h('td', null, x.item_id ? h('a', { href: `#/inbox/${encodeURIComponent(x.item_id)}` }, x.name) : x.name),
          h('td', { class: 'nowrap' }, formatDOB(x.dob)),
          h('td', null, stateWords[x.state] || x.state),
          h('td', null, x.read_at ? formatTime(x.read_at) : '—')))))));
    body.removeAttribute('aria-busy');
    if (!r.done) timer = setTimeout(load, 2000);
  }).catch((err) => { if (ctx.alive() && !err.handled) { put(body, errorBox(err.message)); body.removeAttribute('aria-busy'); } });
  load();
  state.hooks.leave = () => clearTimeout(timer);
  return flash ? c.querySelector('.ok-msg') : title;
}
