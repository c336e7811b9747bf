// The audit log (owner): filters (staff member, action and patient pickers,
// days), paging back in time, CSV export. Staff and patients are shown by
// name; the server words each action, lists the actions for the picker
// (GET /api/v1/meta), and records that the owner looked (the page names
// patients).

import { api } from './api.js';
import { add, debounce, doc, h, makeForm, put, viewHead } from './dom.js';
import { formatDOB, formatTime, plural, roleName } from './format.js';
import { loadTables } from './meta.js';

// --- Audit log (owner)

// A list view's event names every patient on the page: this many show,
// the rest fold away.
const NAMES_SHOWN = 3;

export function viewAudit(c, ctx) {
  const PAGE = 100;
  let filters = {};
  let oldestSeq = 0;
  let shown = 0;
  let chosen = null; // the patient picked: {id, name}
  const exportLink = h('a', { class: 'button', id: 'audit-export', download: 'hearth-audit.csv', href: csvURL() }, 'Export CSV');
  const clearBtn = h('button', { type: 'button', id: 'audit-clear' }, 'Clear filters');
  const results = h('ul', { class: 'pick-list', id: 'audit-patient-results', 'aria-label': 'Matching patients', hidden: true });
  const pickStatus = h('p', { class: 'status-line small-text', role: 'status', id: 'audit-patient-status' });
  const chosenBox = h('div', { class: 'picked', id: 'audit-patient-chosen', hidden: true });
  const f = makeForm('audit', [
    { name: 'actor', label: 'Staff member', type: 'select', options: [['', 'Everyone']] },
    { name: 'action', label: 'Action', type: 'select', options: [['', 'Every action']] },
    { name: 'patient', label: 'Patient', hint: 'Type two letters of a name, a birth date or a phone number', attrs: { spellcheck: 'false', autocapitalize: 'none', 'aria-controls': 'audit-patient-results' } },
    { node: h('div', null, pickStatus, results, chosenBox) },
    { name: 'from', label: 'From', type: 'date', hint: 'First day' },
    { name: 'to', label: 'To', type: 'date', hint: 'Last day' },
  ], {
    submit: 'Show events', label: 'Filter audit events', class: 'grid-form',
    secondary: [clearBtn, exportLink],
    async onSubmit(v) {
      const next = {};
      for (const k of ['actor', 'action', 'from', 'to']) if (v[k].trim()) next[k] = v[k].trim();
      if (chosen) next.patient = chosen.id;
      filters = next;
      exportLink.setAttribute('href', csvURL());
      await load(true);
    },
  });
  clearBtn.addEventListener('click', () => {
    for (const fl of Object.values(f.fields)) fl.input.value = '';
    choose(null, false);
    f.el.requestSubmit();
  });
  const tbody = h('tbody');
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'audit-table' },
    h('caption', { class: 'vh' }, 'Audit events, newest first'),
    h('thead', null, h('tr', null, ['Time', 'Who', 'What', 'Patient', 'Object', 'From', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const status = h('p', { class: 'status-line', role: 'status', id: 'audit-status', tabindex: '-1' });
  const more = h('button', { type: 'button', id: 'audit-more', hidden: true }, 'Load older');
  more.addEventListener('click', () => load(false).catch(() => {}));
  add(c, viewHead('Audit log'),
    h('p', { class: 'intro' }, 'Every sign-in, every look at or change to a patient record, and every change to staff and settings, newest first. A list on screen (the inbox, the board, a search) is one row naming every patient it showed. Rows in red failed, were refused or were throttled. Looking at this log is recorded too.'),
    h('div', { class: 'card' }, f.el), status, table, h('div', { class: 'more' }, more));

  api('GET', '/api/v1/staff').then((r) => {
    if (!ctx.alive()) return;
    const sel = f.fields.actor.input;
    for (const st of r.staff || []) add(sel, h('option', { value: `staff:${st.id}` }, `${st.name} (${roleName(st.role)})`));
  }).catch(() => {});

  // --- The patient picker: the same search as the Patients view.
  const q = f.fields.patient.input;
  let seq = 0;
  async function search() {
    const text = q.value.trim();
    const mine = ++seq;
    if (chosen) return;
    if (text.length < 2) { results.hidden = true; put(results); pickStatus.textContent = ''; return; }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = (r.patients || []).slice(0, 8);
      pickStatus.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found. Choose one below.` : 'No patient matches.';
      put(results, list.map((p) => h('li', null, h('button', { type: 'button', class: 'pick', 'data-id': p.id, onclick: () => choose(p, true) },
        h('span', { class: 'pick-name' }, p.name), h('span', { class: 'pick-sub' }, `Born ${formatDOB(p.dob)}${p.phone ? ` · ${p.phone}` : ''}`)))));
      results.hidden = list.length === 0;
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      f.fields.patient.setError(err.message);
    }
  }
  q.addEventListener('input', debounce(search, 250));
  q.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && !results.hidden) { e.preventDefault(); const b = results.querySelector('button'); if (b) b.focus(); }
  });
  results.addEventListener('keydown', (e) => {
    const bs = [...results.querySelectorAll('button')];
    const i = bs.indexOf(doc.activeElement);
    if (e.key === 'ArrowDown' && i < bs.length - 1) { e.preventDefault(); bs[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? bs[i - 1] : q).focus(); }
  });
  // choose picks a patient ({id, name}) or none; submit shows their events.
  function choose(p, submit) {
    chosen = p ? { id: p.id, name: p.name || 'Patient no longer on file' } : null;
    f.fields.patient.clear();
    put(results);
    results.hidden = true;
    pickStatus.textContent = chosen ? `Chosen: ${chosen.name}.` : '';
    f.fields.patient.wrap.hidden = !!chosen;
    chosenBox.hidden = !chosen;
    if (!chosen) { put(chosenBox); q.value = ''; return; }
    const change = h('button', { type: 'button', class: 'link small', id: 'audit-patient-change' }, 'Change', h('span', { class: 'vh' }, ' patient'));
    change.addEventListener('click', () => { choose(null, false); q.focus(); });
    put(chosenBox, h('span', null, h('strong', { id: 'audit-patient-name' }, chosen.name), h('span', { class: 'sub' }, 'Only this patient\u2019s events')), change);
    if (submit) f.el.requestSubmit();
  }

  // The action picker: the server's list of actions, in plain words.
  loadTables().then((t) => {
    if (!ctx.alive()) return;
    const sel = f.fields.action.input;
    for (const a of t.audit_actions || []) add(sel, h('option', { value: a.action }, a.words));
  }).catch(() => {});

  function csvURL() {
    const p = new URLSearchParams(filters);
    p.set('format', 'csv');
    return `/api/v1/audit?${p}`;
  }

  async function load(reset) {
    const p = new URLSearchParams(filters);
    p.set('limit', String(PAGE));
    p.set('order', 'desc');
    if (!reset && oldestSeq) p.set('before', String(oldestSeq));
    let r;
    try {
      r = await api('GET', `/api/v1/audit?${p}`);
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.field && f.fields[err.field]) throw err;
      put(status, h('span', { class: 'err', role: 'alert' }, err.message));
      return;
    }
    if (!ctx.alive()) return;
    if (reset) { put(tbody); shown = 0; oldestSeq = 0; }
    const evs = r.events || [];
    for (const e of evs) add(tbody, auditRow(e));
    shown += evs.length;
    if (evs.length) oldestSeq = evs[evs.length - 1].seq;
    const end = evs.length < PAGE;
    const hadFocus = doc.activeElement === more;
    more.hidden = end;
    status.textContent = shown === 0 ? 'No events match these filters.'
      : `${plural(shown, 'event', 'events')} shown, newest first${end ? ', back to the start of the log.' : '.'}`;
    if (hadFocus && end) status.focus();
  }

  // patientButton shows one patient by name; choosing it filters by them.
  function patientButton(p) {
    const name = p.name || 'Patient no longer on file';
    return h('button', {
      type: 'button', class: 'link', 'data-patient': p.id, title: p.name ? null : p.id,
      'aria-label': `${name}: show only this patient's events`,
      onclick: () => choose(p, true),
    }, name);
  }

  function patientCell(names) {
    if (!names || !names.length) return '';
    const first = names.slice(0, NAMES_SHOWN).map(patientButton);
    const rest = names.slice(NAMES_SHOWN);
    const parts = [];
    first.forEach((b, i) => parts.push(i ? ', ' : '', b));
    if (rest.length) {
      const list = [];
      rest.map(patientButton).forEach((b, i) => list.push(i ? ', ' : '', b));
      parts.push(h('details', { class: 'more-names' }, h('summary', null, `and ${plural(rest.length, 'more patient', 'more patients')}`), list));
    }
    return parts;
  }

  function auditRow(e) {
    const bad = ['failed', 'denied', 'throttled', 'damaged'].includes(e.outcome);
    const high = e.severity === 'high';
    return h('tr', { class: bad || high ? 'flag' : null, 'data-seq': String(e.seq) },
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, formatTime(e.at))),
      h('td', null, e.actor_name || e.actor, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
      h('td', null, e.action_words || e.action, h('span', { class: 'sub mono' }, e.action)),
      h('td', { class: 'audit-patients' }, patientCell(e.patient_names)),
      h('td', { class: 'mono nowrap' }, shortObject(e.object)),
      h('td', { class: 'mono nowrap' }, e.client || ''),
      h('td', null,
        bad ? h('span', { class: 'badge bad' }, e.outcome[0].toUpperCase() + e.outcome.slice(1))
          : h('span', { class: 'badge' }, e.outcome || 'OK'),
        high ? [' ', h('span', { class: 'badge high' }, 'High severity')] : null));
  }

  load(true).catch((err) => f.error(err));
  return null;
}

// shortObject shows "patient:8685726f-cb52-…" as "patient:8685726f…", with
// the whole value as a tooltip (the CSV export has it in full).
function shortObject(obj) {
  const m = /^([a-z_]+):([0-9a-f]{8})-[0-9a-f-]{27}$/.exec(obj || '');
  if (!m) return obj || '';
  return h('span', { title: obj }, `${m[1]}:${m[2]}…`);
}
