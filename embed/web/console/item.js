// One request: the patient banner, the request's details, the thread and
// the reply box, with colleagues' presence. The side panel and break-glass
// are in item_side.js. The parts of the view share x, made by viewItem:
// the request's id, the GET answer (x.v), the page's elements (x.els),
// x.load(first) and the presence tracker.

import { api } from './api.js';
import { add, backLink, debounce, doc, errorBox, fact, h, icon, put } from './dom.js';
import { ago, dueWords, formatDOB, formatTime, formatWhen, initials, langNames, roleName } from './format.js';
import { bookedFlash, bookedLine } from './item_book.js';
import { assign, breakGlass, paintSide, queueLabel } from './item_side.js';
import { live, setTitle } from './live.js';
import { tables } from './meta.js';
import { showShortcuts } from './shell.js';
import { memory, state } from './state.js';
import { ensureQueues, ensureStaff, queueName, staffName } from './team.js';
import { fieldNames, outcomeNames, statusName, typeBadge, typeLabel, urgentBadge } from './words.js';
import { outreachNotes, pageWords } from './outreach_item.js';

const itemKeys = [
  ['r', 'Write a reply'], ['a', 'Assign this request to me'], ['u', 'Back to the inbox'], ['?', 'Show these shortcuts'],
];

function systemWords(m) {
  const who = m.author_id ? staffName(m.author_id) : '';
  const by = who ? ` by ${who === 'You' ? 'you' : who}` : '';
  const b = m.body || '';
  if (b === 'after_hours') return 'Sent after office hours. The patient was told when the office opens and how to get urgent help.';
  if (b.startsWith('assigned:')) return `${who ? `${who} assigned` : 'Assigned'} this to ${b.slice(9)}.`;
  if (b === 'unassigned') return `Unassigned${by}.`;
  if (b.startsWith('status:')) return `Status set to ${statusName(b.slice(7)).toLowerCase()}${by}.`;
  if (b === 'call_attempt') return `Call attempt logged${by}.`;
  if (b.startsWith('oncall.')) return pageWords(b, m.author_name || who);
  if (b.startsWith('moved:')) {
    const [from, to, ...why] = b.slice(6).split(':');
    return `Moved from ${queueLabel(from)} to ${queueLabel(to)}${by}: ${why.join(':')}`;
  }
  return b;
}

function messageNode(m, patientName, item) {
  const when = h('time', { datetime: m.at, title: formatTime(m.at) }, formatWhen(m.at));
  if (m.kind === 'system') {
    const words = m.body === 'booked' ? bookedLine(item) : systemWords(m);
    return h('li', { class: 'msg system', 'data-id': m.id }, h('span', null, words), ' ', when);
  }
  if (m.kind === 'note') {
    return h('li', { class: 'msg note', 'data-id': m.id },
      h('p', { class: 'note-flag' }, icon('note', 16), 'Internal note — the patient never sees this'),
      h('p', { class: 'msg-head' }, h('strong', null, m.author_name || 'Staff'), m.author_role ? ` · ${roleName(m.author_role)}` : '', ' · ', when),
      h('p', { class: 'msg-body' }, m.body));
  }
  const staff = m.kind === 'staff';
  return h('li', { class: `msg ${staff ? 'staff' : 'patient'}`, 'data-id': m.id },
    h('p', { class: 'msg-head' },
      h('strong', null, staff ? (m.author_name || 'Staff') : (patientName || 'Patient')),
      staff ? ` · ${roleName(m.author_role)} · reply to the patient` : ' · patient', ' · ', when),
    h('p', { class: 'msg-body' }, m.body));
}

// textNode is one text about the request and how far it got.
const textStates = { queued: 'waiting to go', sending: 'sending', sent: 'sent', delivered: 'delivered', failed: 'not delivered' };
const textKinds = { reply: 'reply notice', ack: 'acknowledgement', answer: 'answer', notice: 'notice', page: 'on-call page' };
function textNode(t) {
  const what = `${t.channel === 'sms' ? 'Text' : 'Email'} to the patient (${textKinds[t.kind] || t.kind || 'message'}): `;
  const st = t.held ? `held until ${formatTime(t.next_at)} (quiet hours)` : (textStates[t.state] || t.state);
  return h('li', { class: `msg system text-state text-${t.state}`, 'data-id': t.id },
    h('span', null, what, h('strong', null, st), t.last_error ? ` — ${t.last_error}` : ''), ' ',
    h('time', { datetime: t.created, title: formatTime(t.created) }, formatWhen(t.created)));
}

// viewItem shows one request (#/inbox/ID).
export function viewItem(c, ctx, id) {
  const els = itemLayout();
  const x = { id, ctx, enc: encodeURIComponent(id), v: null, els, reply: null, cards: new Map() };
  add(c, h('div', { class: 'item-top' }, backLink('#/inbox', 'Back to inbox'),
    h('button', { type: 'button', class: 'link small', onclick: () => showShortcuts(itemKeys) }, 'Shortcuts (?)')),
  els.banner, els.problem, els.grid);
  x.load = (first) => loadItem(x, first);
  x.refresh = debounce(() => { if (ctx.alive()) x.load(false); }, 80);
  x.presence = watchPresence(x);
  state.hooks.event = (e) => { if (e.item_id === id) x.refresh(); };
  state.hooks.key = (e) => {
    if (e.target && e.target.closest && e.target.closest('a, button') && e.key === 'Enter') return;
    if (e.key === 'r') { const t = doc.getElementById('reply-body'); if (t) { e.preventDefault(); t.focus(); } }
    else if (e.key === 'a' && x.v && x.v.item.assignee !== state.me.staff.id) { e.preventDefault(); assign(x, 'me'); }
    else if (e.key === 'u') { e.preventDefault(); location.hash = '#/inbox'; }
    else if (e.key === '?') { e.preventDefault(); showShortcuts(itemKeys); }
  };
  x.load(true);
  return null;
}

// itemLayout makes the view's elements (x.els); loadItem fills them.
function itemLayout() {
  const banner = h('section', { class: 'pt-banner', id: 'item-banner', 'aria-label': 'Patient' }, h('p', { class: 'muted' }, 'Loading…'));
  const title = h('h1', { tabindex: '-1', id: 'item-title' }, 'Request');
  const meta = h('div', { class: 'item-meta', id: 'item-meta' });
  const presence = h('p', { class: 'presence', id: 'presence', role: 'status' });
  const flash = h('div', { id: 'item-flash' });
  const details = h('div', { id: 'item-details' });
  const thread = h('ol', { class: 'thread', id: 'thread', 'aria-label': 'Conversation' });
  const composeBox = h('div', { id: 'compose-box' });
  const side = h('aside', { class: 'item-side', id: 'item-side', 'aria-label': 'Actions' });
  const mainCol = h('div', { class: 'item-main' }, title, meta, presence, flash, details,
    h('h2', { class: 'vh' }, 'Conversation'), thread, composeBox);
  const grid = h('div', { class: 'item-grid', hidden: true }, mainCol, side);
  const problem = h('div', { id: 'item-problem' });
  return { banner, title, meta, presence, flash, details, thread, composeBox, side, grid, problem };
}

// watchPresence says we are here, tells colleagues when we type, shows who
// else is on this request, and leaves cleanly. typed() runs on each change
// to the reply; sent() once a reply went out.
function watchPresence(x) {
  const { id } = x;
  const presence = x.els.presence;
  const others = new Map(); // staff id -> {name, state}
  let typingAt = 0;
  let typingTimer = 0;
  live.send({ type: 'viewing', item_id: id });
  const paint = () => {
    const list = [...others.values()];
    presence.classList.toggle('active', list.length > 0);
    presence.classList.toggle('typing', list.some((o) => o.state === 'typing'));
    put(presence, list.length ? [h('span', { 'aria-hidden': 'true' }, icon(list.some((o) => o.state === 'typing') ? 'note' : 'eye', 16)),
      list.map((o, i) => [i ? ' · ' : '', o.state === 'typing' ? `${o.name} is replying…` : `${o.name} is viewing`])] : null);
  };
  state.hooks.presence = (p) => {
    if (p.item_id !== id || (state.me && p.staff_id === state.me.staff.id)) return;
    if (p.state === 'left') others.delete(p.staff_id);
    else others.set(p.staff_id, { name: p.name || 'A colleague', state: p.state });
    paint();
  };
  state.hooks.reopen = () => {
    others.clear();
    paint();
    live.send({ type: 'viewing', item_id: id });
    x.refresh();
  };
  state.hooks.leave = () => {
    clearTimeout(typingTimer);
    live.send({ type: 'left', item_id: id });
  };
  return {
    typed() {
      const now = Date.now();
      if (now - typingAt > 3000) {
        typingAt = now;
        live.send({ type: 'typing', item_id: id });
      }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typingAt = 0; live.send({ type: 'viewing', item_id: id }); }, 6000);
    },
    sent() {
      clearTimeout(typingTimer);
      typingAt = 0;
      live.send({ type: 'viewing', item_id: id });
    },
  };
}

// loadItem fetches the request and paints it; first is the view's first
// load (it places the focus).
async function loadItem(x, first) {
  const { id, ctx, els } = x;
  if (x.movedAway) return; // moved out of this person's queues: its confirmation stays
  let r;
  try {
    await Promise.all([ensureStaff().catch(() => {}), ensureQueues()]);
    r = await api('GET', `/api/v1/items/${x.enc}`);
  } catch (err) {
    if (!ctx.alive() || err.handled) return;
    if (err.code === 'break_glass') { breakGlass(x); return; }
    els.grid.hidden = true;
    put(els.banner);
    els.banner.hidden = true;
    els.title.textContent = err.code === 'not_found' ? 'Request not found' : 'Request';
    put(els.problem, h('h1', { tabindex: '-1' }, err.code === 'not_found' ? 'Request not found' : 'This request could not be opened'),
      errorBox(err.code === 'not_found' ? 'There is no request at this address.' : err.message));
    return;
  }
  if (!ctx.alive()) return;
  x.v = r;
  const v = r;
  put(els.problem);
  els.grid.hidden = false;
  els.banner.hidden = false;
  if (v.item.patient_id) { memory.rowPatient = memory.rowPatient || {}; memory.rowPatient[id] = v.item.patient_id; }
  paintBanner(x);
  paintHead(x);
  paintDetails(x);
  paintThread(x);
  // The reply box is built once, so a reload from a live event never loses
  // what someone is typing.
  if (!x.reply) { x.reply = compose(x); put(els.composeBox, x.reply.form); }
  else x.reply.paintMode();
  paintSide(x);
  const booked = bookedFlash(x);
  if (booked) { put(els.flash, booked); booked.focus(); }
  setTitle(`${typeLabel(v.item.type)} request · ${state.clinic}`);
  if (first) {
    if (memory.replyFocus === id) { memory.replyFocus = ''; doc.getElementById('reply-body').focus(); }
    else els.title.focus();
  }
}

// who is the name of the person who wrote: the patient or the contact.
function who(x) {
  const { v } = x;
  if (v.patient) return v.patient.name;
  if (v.contact) return v.contact.name;
  return 'Patient';
}

function paintBanner(x) {
  const { v } = x;
  const { banner } = x.els;
  const p = v.patient;
  const ct = v.contact;
  if (p) {
    put(banner,
      h('div', { class: 'pt-main' },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
        h('div', null,
          h('p', { class: 'pt-name', id: 'pt-name' }, h('a', { href: `#/patients/${encodeURIComponent(p.id)}` }, p.name),
            ' ', h('span', { class: 'badge on' }, icon('check', 14), 'Verified')),
          h('dl', { class: 'facts inline' },
            fact('Born', formatDOB(p.dob)), fact('Age', String(p.age)), fact('Phone', p.phone || 'Not given'),
            fact('Language', langNames[p.lang] || p.lang || 'English')))),
      v.same_name > 0 ? h('div', { class: 'warn-banner strong', role: 'alert', id: 'item-same-name' },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, icon('alert', 20)),
        h('span', null, v.same_name === 1
          ? 'Another patient has the same name. Check the birth date before you act on this request.'
          : `${v.same_name} other patients have the same name. Check the birth date before you act on this request.`)) : null);
  } else if (ct) {
    put(banner,
      h('div', { class: 'pt-main' },
        h('span', { class: 'avatar unverified', 'aria-hidden': 'true' }, '?'),
        h('div', null,
          h('p', { class: 'pt-name', id: 'pt-name' }, ct.name || 'Unknown', ' ', h('span', { class: 'badge warn' }, icon('alert', 14), 'Unverified')),
          h('dl', { class: 'facts inline' },
            fact('Born (as given)', formatDOB(ct.dob)), fact('Phone', ct.phone || 'Not given'),
            ct.email ? fact('Email', ct.email) : null, fact('Language', langNames[ct.lang] || ct.lang || 'English')))),
      h('p', { class: 'banner-note' }, 'Wrote without an account. Check who this is before sharing health details, then link them to their record.'));
  } else {
    put(banner, h('p', { class: 'pt-name' }, 'Patient'));
  }
}

function paintHead(x) {
  const { title, meta } = x.els;
  const it = x.v.item;
  title.textContent = it.subject || typeLabel(it.type);
  const d = dueWords({ ...it, due_at: it.due, overdue: it.status !== 'closed' && new Date(it.due).getTime() < Date.now() });
  put(meta,
    it.priority === 'urgent' ? urgentBadge() : null,
    typeBadge(it.type),
    h('span', { class: `status s-${it.status}`, id: 'item-status' }, statusName(it.status)),
    h('span', { class: 'meta-item' }, 'Queue: ', h('strong', null, queueName(it.queue))),
    h('span', { class: 'meta-item' }, h('time', { datetime: it.due, class: d.cls, title: formatTime(it.due) }, d.text)),
    h('span', { class: 'meta-item' }, 'Received ', h('time', { datetime: it.created, title: formatTime(it.created) }, ago(it.created))),
    h('span', { class: 'meta-item', id: 'item-assignee' }, 'Assigned to ', h('strong', null, it.assignee ? staffName(it.assignee) : 'nobody yet')));
}

// paintDetails shows the request's fields in the order the server gives
// for its type (then any others it has).
function paintDetails(x) {
  const it = x.v.item;
  const fields = it.fields || {};
  const keys = (tables.fields[it.type] || []).filter((k) => fields[k] && !(k === 'subject' && it.type === 'message'));
  for (const k of Object.keys(fields)) if (!keys.includes(k) && !(k === 'subject' && it.type === 'message')) keys.push(k);
  put(x.els.details,
    it.priority === 'urgent' ? h('div', { class: 'urgent-box', role: 'note' },
      h('span', { 'aria-hidden': 'true' }, icon('alert', 20)),
      h('span', null, h('strong', null, 'Urgent wording. '),
        (it.urgent && it.urgent.length) ? `The patient's words mention ${it.urgent.join(', ')}. ` : '',
        'Read it now; call the patient if in doubt.')) : null,
    keys.length ? h('section', { class: 'fields-card', 'aria-labelledby': 'fields-title' },
      h('h2', { id: 'fields-title' }, `${typeLabel(it.type)} details`),
      h('dl', { class: 'fields' }, keys.map((k) => h('div', null, h('dt', null, fieldNames[k] || k.replace(/_/g, ' ')), h('dd', null, fields[k]))))) : null,
    outreachNotes(x),
    it.status === 'closed' && it.outcome ? h('p', { class: 'closed-line' }, icon('check', 16),
      `Closed: ${outcomeNames[it.outcome] || it.outcome}.`, it.closed_reason ? ` Reason given to the patient: “${it.closed_reason}”` : '') : null);
}

function paintThread(x) {
  const { v } = x;
  const { thread } = x.els;
  const atEnd = thread.lastChild ? thread.lastChild.dataset.id : '';
  const name = v.patient ? v.patient.name : v.contact ? v.contact.name : '';
  // Texts about the request (reply notices, acknowledgements) sit in the
  // timeline where they were made, with their delivery state.
  const rows = [...(v.messages || []).map((m) => ({ at: m.at, node: () => messageNode(m, name, v.item) })),
    ...(v.texts || []).map((t) => ({ at: t.created, node: () => textNode(t) }))];
  rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  put(thread, rows.map((r) => r.node()));
  const last = thread.lastChild;
  if (last && atEnd && last.dataset.id !== atEnd && doc.activeElement && doc.activeElement.id === 'reply-body') {
    last.scrollIntoView({ block: 'nearest' });
  }
}

// compose builds the reply box: {form, paintMode}. paintMode fits its
// words to a reply or an internal note, and to who wrote.
function compose(x) {
  const { id, enc } = x;
  const internal = h('input', { type: 'checkbox', id: 'reply-internal', name: 'internal' });
  const label = h('label', { for: 'reply-body', id: 'reply-label' });
  const hint = h('p', { class: 'hint', id: 'reply-hint' });
  const body = h('textarea', { id: 'reply-body', name: 'body', rows: 5, 'aria-describedby': 'reply-hint' });
  body.value = (memory.drafts && memory.drafts[id]) || '';
  const tmpl = h('select', { id: 'reply-template', 'aria-label': 'Insert a template' }, h('option', { value: '' }, 'Insert a template…'));
  const msgEl = h('div', { class: 'form-msg', id: 'reply-msg' });
  const send = h('button', { type: 'submit', class: 'primary', id: 'reply-submit' });
  const form = h('form', { class: 'compose', id: 'reply', novalidate: true, 'aria-label': 'Reply' },
    h('div', { class: 'compose-tools' },
      h('div', { class: 'field check' }, internal, h('label', { for: 'reply-internal' }, 'Internal note (the patient never sees it)')),
      h('div', { class: 'tmpl' }, tmpl)),
    h('div', { class: 'field' }, label, hint, body), msgEl,
    h('div', { class: 'actions' }, send));
  const paintMode = () => {
    const note = internal.checked;
    form.classList.toggle('internal', note);
    label.textContent = note ? 'Internal note' : `Reply to ${who(x).split(' ')[0] || 'the patient'}`;
    hint.textContent = note ? 'Only staff see internal notes.' : 'The patient reads this, signed with your first name and role.';
    send.textContent = note ? 'Add internal note' : 'Send reply';
  };
  internal.addEventListener('change', paintMode);
  body.addEventListener('input', () => {
    memory.drafts = memory.drafts || {};
    memory.drafts[id] = body.value;
    x.presence.typed();
  });
  api('GET', '/api/v1/templates').then((r) => {
    for (const t of r.templates || []) add(tmpl, h('option', { value: t.id }, t.name));
  }).catch(() => {});
  tmpl.addEventListener('change', async () => {
    const tid = tmpl.value;
    if (!tid) return;
    try {
      const r = await api('GET', `/api/v1/items/${enc}/templates/${encodeURIComponent(tid)}`);
      body.value = body.value.trim() ? `${body.value.trimEnd()}\n\n${r.body}` : r.body;
      memory.drafts = memory.drafts || {};
      memory.drafts[id] = body.value;
      internal.checked = false;
      paintMode();
      body.focus();
      x.presence.typed();
    } catch (err) {
      if (!err.handled) put(msgEl, h('p', { class: 'err', role: 'alert' }, err.message));
    } finally {
      tmpl.value = '';
    }
  });
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    put(msgEl);
    const text = body.value.trim();
    if (!text) {
      put(msgEl, h('p', { class: 'err', role: 'alert' }, internal.checked ? 'Write the note first.' : 'Write your reply first.'));
      body.focus();
      return;
    }
    busy = true;
    send.setAttribute('aria-disabled', 'true');
    try {
      await api('POST', `/api/v1/items/${enc}/messages`, { body: text, internal: internal.checked });
      const wasNote = internal.checked;
      body.value = '';
      if (memory.drafts) delete memory.drafts[id];
      internal.checked = false;
      paintMode();
      x.presence.sent();
      put(msgEl, h('p', { class: 'ok-msg', role: 'status' }, wasNote ? 'Note added.' : 'Reply sent.'));
      await x.load(false);
      body.focus();
    } catch (err) {
      if (!err.handled) put(msgEl, h('p', { class: 'err', role: 'alert' }, err.message));
    } finally {
      busy = false;
      send.removeAttribute('aria-disabled');
    }
  });
  paintMode();
  return { form, paintMode };
}
