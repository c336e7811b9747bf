// The side panel of one request (item.js): assignment, status, call
// attempts, the chart copy, the identity check of an unverified contact,
// and break-glass for a request outside the person's queues. Each part
// takes x, the view's shared state (see viewItem).

import { api } from './api.js';
import { doc, fieldError, h, icon, makeForm, okMessage, put } from './dom.js';
import { ago, formatDOB, formatTime, formatWhen, langNames, plural, roleName } from './format.js';
import { bookCard } from './item_book.js';
import { tables } from './meta.js';
import { memory, state } from './state.js';
import { assignMenu, queueName, staffName } from './team.js';
import { outcomeNames, statusName } from './words.js';

// paintSide rebuilds a card only when what it shows changed (x.cards keeps
// them), so a live refresh never throws away a half-filled form (a close
// reason, a search).
export function paintSide(x) {
  const { v } = x;
  const { side } = x.els;
  const card = (key, sig, build) => {
    let cd = x.cards.get(key);
    if (!cd || cd.sig !== sig) {
      cd = { sig, node: build() };
      x.cards.set(key, cd);
    }
    return cd.node;
  };
  const active = doc.activeElement;
  const focusId = active && side.contains(active) ? active.id : '';
  const it = v.item;
  const want = [
    card('assign', `${it.assignee}|${it.queue}|${(memory.staff || []).length}`, () => assignCard(x, it)),
    card('queue', it.queue, () => queueCard(x, it)),
    it.type === 'appointment' && it.status !== 'closed' && v.patient ? card('book', '', () => bookCard(x)) : null,
    card('status', `${it.status}|${it.outcome || ''}`, () => statusCard(x, it)),
    it.type === 'callback' ? card('attempts', String((it.attempts || []).length), () => attemptsCard(x, it)) : null,
    card('chart', '', () => chartCard(x)),
    v.contact ? card('link', v.contact.id, () => linkCard(x, v.contact)) : null,
    (it.seen_by || []).length ? card('seen', String(it.seen_by.length), () => seenCard(it)) : null,
  ].filter(Boolean);
  const same = want.length === side.children.length && want.every((n, i) => side.children[i] === n);
  if (!same) put(side, want);
  if (focusId && doc.activeElement !== doc.getElementById(focusId)) { const el = doc.getElementById(focusId); if (el) el.focus(); }
}

function sideMsg(key) {
  return h('div', { class: 'form-msg', id: `${key}-msg` });
}

function showSide(key, node) {
  const el = doc.getElementById(`${key}-msg`);
  if (el) { put(el, node); if (node && node.classList && node.classList.contains('ok-msg')) node.focus(); }
}

// assign gives the request to staffId ('me', or '' for nobody).
export async function assign(x, staffId) {
  try {
    await api('POST', `/api/v1/items/${x.enc}/assign`, { staff_id: staffId });
    await x.load(false);
    showSide('assign', okMessage(staffId === 'me' ? 'Assigned to you.' : staffId ? `Assigned to ${staffName(staffId)}.` : 'Unassigned.'));
  } catch (err) {
    if (!err.handled) showSide('assign', h('p', { class: 'err', role: 'alert' }, err.message));
  }
}

function assignCard(x, it) {
  const mine = it.assignee === state.me.staff.id;
  const menu = assignMenu('assign', it.queue, it.assignee);
  const go = h('button', { type: 'button', class: 'small', id: 'assign-submit' }, 'Assign');
  go.addEventListener('click', () => {
    if (!menu.value) { showSide('assign', h('p', { class: 'err', role: 'alert' }, 'Choose who should take it.')); menu.focus(); return; }
    assign(x, menu.value);
  });
  return h('section', { class: 'side-card', 'aria-labelledby': 'assign-title' },
    h('h2', { id: 'assign-title' }, 'Assigned to'),
    h('p', { class: 'who-line' }, icon('user', 18), it.assignee ? h('strong', null, staffName(it.assignee)) : h('span', { class: 'muted' }, 'Nobody yet')),
    sideMsg('assign'),
    h('div', { class: 'actions' },
      mine ? null : h('button', { type: 'button', class: 'primary small', id: 'assign-me', onclick: () => assign(x, 'me') }, 'Assign to me'),
      it.assignee ? h('button', { type: 'button', class: 'small', id: 'assign-none', onclick: () => assign(x, '') }, 'Unassign') : null),
    h('div', { class: 'field inline-field' }, h('label', { for: 'assign-staff' }, 'Give it to'), h('div', { class: 'row' }, menu, go)),
    h('p', { class: 'hint' }, `Only people who work the ${queueName(it.queue)} queue are listed.`));
}

// queueLabel is a queue's name: the clinic's queues come with the
// console's tables (GET /api/v1/meta), so a queue the person does not work
// has its name too.
export function queueLabel(id) {
  const q = (tables.queues || []).find((c) => c.id === id);
  return q ? q.name : queueName(id);
}

// queueCard moves the request to another queue, with the reason its staff
// read; they are alerted. Someone who does not work the new queue no
// longer sees the request, so the view says where it went instead.
function queueCard(x, it) {
  const others = (tables.queues || []).filter((q) => q.id !== it.queue);
  const f = makeForm('move', [
    { name: 'queue', label: 'Move it to', type: 'select', options: [['', 'Choose a queue…'], ...others.map((q) => [q.id, q.name])] },
    { name: 'reason', label: 'Why', type: 'textarea', rows: 2, hint: 'For the staff who pick it up, for example: “Needs a clinician to look at the rash.”',
      attrs: { maxlength: 2000 } },
  ], {
    submit: 'Move', submitClass: 'small', label: 'Move to another queue',
    async onSubmit(v) {
      if (!v.queue) throw fieldError('queue', 'Choose the queue it moves to.');
      if (!v.reason.trim()) throw fieldError('reason', 'Write why it moves, for the staff who pick it up.');
      const r = await api('POST', `/api/v1/items/${x.enc}/queue`, { queue: v.queue, reason: v.reason.trim() });
      const to = queueLabel(r.item.queue);
      const role = state.me.staff.role;
      const q = (tables.queues || []).find((c) => c.id === r.item.queue);
      if (role === 'owner' || (q && (q.roles || []).includes(role))) {
        await x.load(false);
        showSide('queue', okMessage(`Moved to ${to}. Its staff were alerted.`));
        return;
      }
      // Out of this person's queues now: the request is not theirs to see.
      // The confirmation stays: a live event about the move must not
      // repaint the view as "could not be opened" (loadItem checks this).
      x.movedAway = true;
      const { els } = x;
      els.grid.hidden = true;
      els.banner.hidden = true;
      const ok = okMessage(`Moved to ${to}. Its staff were alerted; you do not work that queue, so it has left your inbox.`);
      ok.id = 'move-done';
      put(els.problem, h('h1', null, 'Request moved'), ok, h('p', null, h('a', { href: '#/inbox', id: 'move-back' }, 'Back to the inbox')));
      ok.focus();
    },
  });
  return h('section', { class: 'side-card', 'aria-labelledby': 'queue-title' },
    h('h2', { id: 'queue-title' }, 'Queue'),
    h('p', { class: 'who-line', id: 'queue-now' }, 'In ', h('strong', null, queueLabel(it.queue))),
    sideMsg('queue'),
    h('details', { class: 'move-queue', id: 'move-details' }, h('summary', null, 'Move to another queue'), f.el));
}

function statusCard(x, it) {
  const outs = tables.outcomes[it.type] || [];
  const selEl = h('select', { id: 'status-select', name: 'status' },
    tables.statuses.map((s) => h('option', { value: s, selected: s === it.status }, statusName(s))));
  const outcome = outs.length ? h('fieldset', { class: 'outcomes', id: 'status-outcomes' },
    h('legend', null, 'How does it end?'),
    outs.map((o) => h('div', { class: 'field check radio' },
      h('input', { type: 'radio', name: 'outcome', id: `outcome-${o}`, value: o }),
      h('label', { for: `outcome-${o}` }, outcomeNames[o] || o)))) : null;
  const reasonId = 'status-reason';
  const reason = h('div', { class: 'field', id: 'status-reason-wrap' },
    h('label', { for: reasonId }, 'Reason the patient will read'),
    h('p', { class: 'hint', id: 'status-reason-hint' }, 'Plain words, for example: “We need to see you before we can renew this. Please book a visit.”'),
    h('textarea', { id: reasonId, name: 'reason', rows: 3, 'aria-describedby': 'status-reason-hint' }));
  const closing = h('div', { id: 'status-closing', hidden: true }, outcome, reason);
  const paint = () => {
    const closingNow = selEl.value === 'closed' && it.status !== 'closed';
    closing.hidden = !closingNow;
    const o = closing.querySelector('input[name="outcome"]:checked');
    reason.hidden = !(o && o.value.endsWith('declined'));
  };
  selEl.addEventListener('change', paint);
  closing.addEventListener('change', paint);
  const save = h('button', { type: 'submit', class: 'small', id: 'status-submit' }, 'Update status');
  const form = h('form', { novalidate: true, 'aria-label': 'Status', id: 'status-form' },
    h('div', { class: 'field' }, h('label', { for: 'status-select' }, 'Set the status to'), selEl), closing, sideMsg('status'), h('div', { class: 'actions' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = selEl.value;
    const body = { status };
    if (status === it.status) { showSide('status', h('p', { class: 'err', role: 'alert' }, `It is already ${statusName(status).toLowerCase()}.`)); return; }
    if (status === 'closed') {
      const o = form.querySelector('input[name="outcome"]:checked');
      if (outs.length && !o) { showSide('status', h('p', { class: 'err', role: 'alert' }, 'Choose how it ends.')); form.querySelector('input[name="outcome"]').focus(); return; }
      if (o) body.outcome = o.value;
      const rs = doc.getElementById(reasonId).value.trim();
      if (o && o.value.endsWith('declined') && !rs) { showSide('status', h('p', { class: 'err', role: 'alert' }, 'Write the reason the patient will read.')); doc.getElementById(reasonId).focus(); return; }
      if (rs && o && o.value.endsWith('declined')) body.reason = rs;
    }
    try {
      await api('POST', `/api/v1/items/${x.enc}/status`, body);
      await x.load(false);
      showSide('status', okMessage(`Status: ${statusName(status)}.`));
    } catch (err) {
      if (!err.handled) showSide('status', h('p', { class: 'err', role: 'alert' }, err.message));
    }
  });
  paint();
  return h('section', { class: 'side-card', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title' }, 'Status'), form);
}

function attemptsCard(x, it) {
  const list = it.attempts || [];
  const input = h('input', { id: 'attempt-outcome', name: 'outcome', list: 'attempt-words', autocomplete: 'off' });
  const form = h('form', { novalidate: true, 'aria-label': 'Log a call attempt', id: 'attempt-form' },
    h('div', { class: 'field' }, h('label', { for: 'attempt-outcome' }, 'How did the call go?'),
      h('p', { class: 'hint' }, 'The patient sees that you tried, and when.'), input,
      h('datalist', { id: 'attempt-words' }, ['No answer', 'Left a voicemail', 'Line busy', 'Wrong number', 'Spoke with the patient'].map((w) => h('option', { value: w })))),
    sideMsg('attempt'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'small', id: 'attempt-submit' }, 'Log a call attempt')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!input.value.trim()) { showSide('attempt', h('p', { class: 'err', role: 'alert' }, 'Say how the call went, for example: no answer.')); input.focus(); return; }
    try {
      await api('POST', `/api/v1/items/${x.enc}/attempts`, { outcome: input.value.trim() });
      await x.load(false);
      showSide('attempt', okMessage('Call attempt logged.'));
    } catch (err) {
      if (!err.handled) showSide('attempt', h('p', { class: 'err', role: 'alert' }, err.message));
    }
  });
  return h('section', { class: 'side-card', 'aria-labelledby': 'attempts-title' },
    h('h2', { id: 'attempts-title' }, 'Call attempts'),
    list.length ? h('ol', { class: 'attempts', id: 'attempts' }, list.map((a) => h('li', null,
      h('strong', null, a.outcome), h('span', { class: 'sub' }, `${a.name} · `, h('time', { datetime: a.at, title: formatTime(a.at) }, formatWhen(a.at))))))
      : h('p', { class: 'muted' }, 'No calls logged yet.'),
    form);
}

function chartCard(x) {
  const out = h('div', { id: 'chart-out' });
  const btn = h('button', { type: 'button', class: 'small', id: 'chart-copy' }, icon('copy', 16), 'Copy for the chart');
  btn.addEventListener('click', async () => {
    let text;
    try {
      text = (await api('GET', `/api/v1/items/${x.enc}/chart`)).text || '';
    } catch (err) {
      if (!err.handled) put(out, h('p', { class: 'err', role: 'alert' }, err.message));
      return;
    }
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      const m = okMessage('Copied. Paste it into the patient\u2019s chart.');
      put(out, m);
      m.focus();
    } catch {
      const ta = h('textarea', { id: 'chart-text', readonly: true, rows: 8, 'aria-describedby': 'chart-hint' });
      ta.value = text;
      put(out, h('div', { class: 'field' },
        h('label', { for: 'chart-text' }, 'Text for the chart'),
        h('p', { class: 'hint', id: 'chart-hint' }, 'This browser did not allow copying. The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.'), ta));
      ta.focus();
      ta.select();
    }
  });
  return h('section', { class: 'side-card', 'aria-labelledby': 'chart-title' },
    h('h2', { id: 'chart-title' }, 'Chart'),
    h('p', { class: 'muted' }, 'The request and its thread as plain text, headed by the patient\u2019s name and birth date.'),
    h('div', { class: 'actions' }, btn), out);
}

function seenCard(it) {
  const seen = it.seen_by || [];
  if (!seen.length) return null;
  return h('section', { class: 'side-card quiet', 'aria-labelledby': 'seen-title' },
    h('h2', { id: 'seen-title' }, 'Opened by'),
    h('ul', { class: 'plain' }, seen.map((s) => h('li', null, `${s.name} (${roleName(s.role)}) · `, h('time', { datetime: s.at, title: formatTime(s.at) }, ago(s.at))))));
}

// linkCard compares the unverified contact with a patient record side by
// side, and links them only after the person has looked at both.
function linkCard(x, ct) {
  const { flash } = x.els;
  const results = h('div', { id: 'link-results' });
  const compare = h('div', { id: 'link-compare' });
  const q = h('input', { id: 'link-q', type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false' });
  q.value = ct.name || '';
  const form = h('form', { role: 'search', novalidate: true, 'aria-label': 'Find the patient record' },
    h('div', { class: 'field' }, h('label', { for: 'link-q' }, 'Find their record'),
      h('p', { class: 'hint' }, 'A name, a birth date like 03/14/1961, or a phone number.'),
      h('div', { class: 'row' }, q, h('button', { type: 'submit', class: 'small', id: 'link-search' }, 'Search'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    put(compare);
    const text = q.value.trim();
    if (text.length < 2) { put(results, h('p', { class: 'err', role: 'alert' }, 'Type at least two characters.')); return; }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      const list = r.patients || [];
      put(results, list.length ? h('ul', { class: 'plain link-list', 'aria-label': 'Matching records' }, list.map((p) => h('li', null,
        h('span', null, h('strong', null, p.name), h('span', { class: 'sub' }, `${formatDOB(p.dob)} · ${p.phone || 'no phone'}`)),
        h('button', { type: 'button', class: 'small', onclick: () => sideBySide(p) }, 'Compare', h('span', { class: 'vh' }, ` with ${p.name}`)))))
        : h('p', { role: 'status' }, 'No record matches. Try the birth date or the phone number, or create a patient from this below.'));
    } catch (err) {
      if (!err.handled) put(results, h('p', { class: 'err', role: 'alert' }, err.message));
    }
  });
  function sideBySide(p) {
    const digits = (s) => (s || '').replace(/\D/g, '').slice(-10);
    const rowsSpec = [
      ['Name', ct.name, p.name, (ct.name || '').trim().toLowerCase() === (p.name || '').trim().toLowerCase()],
      ['Birth date', formatDOB(ct.dob), formatDOB(p.dob), ct.dob === p.dob],
      ['Phone', ct.phone || '—', p.phone || '—', !!ct.phone && digits(ct.phone) === digits(p.phone)],
    ];
    const t = h('table', { class: 'data compare', id: 'link-table' },
      h('caption', null, 'Identity check'),
      h('thead', null, h('tr', null, h('td'), h('th', { scope: 'col' }, 'They wrote'), h('th', { scope: 'col' }, 'Patient record'), h('th', { scope: 'col' }, 'Match'))),
      h('tbody', null, rowsSpec.map(([k, a, b, same]) => h('tr', { class: same ? 'same' : 'differs' },
        h('th', { scope: 'row' }, k), h('td', null, a), h('td', null, b),
        h('td', null, same ? h('span', { class: 'badge on' }, icon('check', 14), 'Same') : h('span', { class: 'badge bad' }, icon('alert', 14), 'Different'))))));
    const allSame = rowsSpec.every((r) => r[3]);
    const linkBtn = h('button', { type: 'button', class: allSame ? 'primary small' : 'small danger', id: 'link-submit' }, `Link to this patient`);
    linkBtn.addEventListener('click', async () => {
      if (!allSame && !window.confirm('Some details differ. Link anyway? Only do this if you confirmed who they are, for example by phone.')) return;
      try {
        const r = await api('POST', `/api/v1/contacts/${encodeURIComponent(ct.id)}/link`, { patient_id: p.id });
        memory.rowPatient = memory.rowPatient || {};
        memory.rowPatient[x.id] = p.id;
        await x.load(false);
        put(flash, okMessage(`Linked to ${p.name}\u2019s record: ${plural(r.items_moved || 0, 'request', 'requests')} moved.`));
        flash.firstChild.focus();
      } catch (err) {
        if (!err.handled) put(compare, t, h('p', { class: 'err', role: 'alert' }, err.message), h('div', { class: 'actions' }, linkBtn));
      }
    });
    put(compare, t,
      allSame ? null : h('p', { class: 'err' }, 'Some details differ. Check with the person before you link.'),
      h('div', { class: 'actions' }, linkBtn));
    compare.querySelector('caption').setAttribute('tabindex', '-1');
    compare.querySelector('caption').focus();
  }
  return h('section', { class: 'side-card identity', 'aria-labelledby': 'link-title', id: 'link-card' },
    h('h2', { id: 'link-title' }, 'Check who this is'),
    h('p', { class: 'muted' }, 'Compare what they wrote with the patient record, side by side, then link. Their requests move to the record.'),
    form, results, compare, createPart(x, ct));
}

// createPart makes a patient record from what a newcomer wrote (name, birth
// date, phone, email, language), after showing what they wrote and the new
// record side by side, then links the contact to it: their requests move to
// the new record.
function createPart(x, ct) {
  const { flash } = x.els;
  const out = h('div', { id: 'create-compare' });
  const open = h('button', { type: 'button', class: 'small', id: 'create-from-contact' }, 'Create a patient from this');
  const record = { name: ct.name || '', dob: ct.dob || '', phone: ct.phone || '', email: ct.email || '', lang: ct.lang || 'en' };
  open.addEventListener('click', () => {
    const rowsSpec = [
      ['Name', ct.name || '—', record.name || '—'],
      ['Birth date', formatDOB(ct.dob), formatDOB(record.dob)],
      ['Phone', ct.phone || '—', record.phone || '—'],
      ['Email', ct.email || '—', record.email || '—'],
      ['Language', langNames[ct.lang] || ct.lang || '—', langNames[record.lang] || record.lang],
    ];
    const t = h('table', { class: 'data compare', id: 'create-table' },
      h('caption', { tabindex: '-1' }, 'New patient record'),
      h('thead', null, h('tr', null, h('td'), h('th', { scope: 'col' }, 'They wrote'), h('th', { scope: 'col' }, 'New record'))),
      h('tbody', null, rowsSpec.map(([k, a, b]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, a), h('td', null, b)))));
    const go = h('button', { type: 'button', class: 'primary small', id: 'create-submit' }, 'Create the patient and link');
    const cancel = h('button', { type: 'button', class: 'small', id: 'create-cancel', onclick: () => { put(out); open.focus(); } }, 'Cancel');
    const msg = h('div', { class: 'form-msg', id: 'create-msg' });
    go.addEventListener('click', async () => {
      go.disabled = true;
      let made;
      try {
        made = await api('POST', '/api/v1/patients', record);
      } catch (err) {
        go.disabled = false;
        if (err.handled) return;
        put(msg, h('p', { class: 'err', role: 'alert' }, err.status === 409
          ? 'A patient with this name and birth date already exists. Use Find their record above and compare them instead.'
          : err.message));
        return;
      }
      try {
        const r = await api('POST', `/api/v1/contacts/${encodeURIComponent(ct.id)}/link`, { patient_id: made.id });
        memory.rowPatient = memory.rowPatient || {};
        memory.rowPatient[x.id] = made.id;
        await x.load(false);
        put(flash, okMessage(`Created ${record.name}\u2019s record and linked it: ${plural(r.items_moved || 0, 'request', 'requests')} moved.`));
        flash.firstChild.focus();
      } catch (err) {
        if (!err.handled) put(msg, h('p', { class: 'err', role: 'alert' }, `The record was created, but linking failed: ${err.message} Find the record above and link it.`));
      }
    });
    put(out, t, h('p', { class: 'hint' }, 'Check the details with the person if you can, for example by phone, before you create the record.'),
      msg, h('div', { class: 'actions' }, go, cancel));
    t.querySelector('caption').focus();
  });
  return h('div', { class: 'create-part' },
    h('h3', null, 'No record yet?'),
    h('div', { class: 'actions' }, open), out);
}

// breakGlass asks for the reason to open a request outside the person's
// queues, then opens it.
export function breakGlass(x) {
  const { grid, banner, problem } = x.els;
  grid.hidden = true;
  banner.hidden = true;
  const pid = memory.rowPatient && memory.rowPatient[x.id];
  const head = h('h1', { tabindex: '-1', id: 'bg-title' }, 'This request is outside your queues');
  if (!pid) {
    put(problem, h('section', { class: 'card wide' }, head,
      h('p', null, 'To open it, give a reason from the patient\u2019s page or from the inbox row you came from.')));
    head.focus();
    return;
  }
  const f = makeForm('breakglass', [
    { name: 'reason', label: 'Why do you need to open it?', type: 'textarea', rows: 3,
      hint: 'For example: “Covering for Dr. Lee; patient called about this request.” The owner sees your reason, and the access is logged.' },
  ], {
    submit: 'Open with this reason', label: 'Reason for opening',
    secondary: h('a', { class: 'button', href: '#/inbox' }, 'Cancel'),
    async onSubmit(val) {
      if (!val.reason.trim()) throw fieldError('reason', 'Give the reason you need to open it.');
      await api('POST', `/api/v1/patients/${encodeURIComponent(pid)}/break-glass`, { reason: val.reason.trim() });
      put(problem);
      await x.load(true);
    },
  });
  put(problem, h('section', { class: 'card wide glass', id: 'break-glass' }, head,
    h('p', null, 'It belongs to a queue you do not work. You may open it when there is a clinical reason. Access lasts an hour for this patient.'), f.el));
  head.focus();
}
