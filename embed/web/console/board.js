// Appointments: the front-desk board and booking. Live events carry no
// PHI: the board fetches again on each.

import { api } from './api.js';
import { importPanel } from './board_import.js';
import { add, debounce, doc, errorBox, fieldError, h, icon, makeForm, okMessage, put, viewHead } from './dom.js';
import { clinicDay, clinicZone, clockFormat, dayAfter, dayName, formatDOB, formatTime, formatWhen, initials, plural } from './format.js';
import { memory, state } from './state.js';

const apptStatus = {
  confirmed: { text: 'Confirmed', cls: 'st-confirmed' },
  scheduled: { text: 'Not confirmed yet', cls: 'st-scheduled' },
  cancelled: { text: 'Cancelled', cls: 'st-cancelled' },
  reschedule_requested: { text: 'Asked for another time', cls: 'st-reschedule' },
};

// Days and times on the board are the clinic's (format.js), whatever zone
// this computer is set to; a booking sends the wall time typed and the
// clinic's zone, and the server finds the instant (DST included).

// wallTime checks a datetime-local value ("2026-12-01T09:30") and answers
// it as sent, or '' when it is not one.
function wallTime(v) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(v || '');
  return m ? `${m[1]}T${m[2]}${m[3] || ''}` : '';
}

export function viewBoard(c, ctx) {
  let rows = [];
  const days = () => {
    const t = clinicDay(new Date());
    return [{ key: t, name: 'Today' }, { key: dayAfter(t, 1), name: 'Tomorrow' }];
  };
  let day = memory.boardDay || 'Today';
  const refreshBtn = h('button', { type: 'button', class: 'small', id: 'board-refresh' }, 'Refresh');
  const bookLink = h('button', { type: 'button', class: 'primary small', id: 'board-book-link' }, '+ Book an appointment');
  bookLink.addEventListener('click', () => {
    const p = doc.getElementById('board-book-panel');
    p.scrollIntoView({ block: 'start' });
    doc.getElementById('book-patient_id').focus();
  });
  const summary = h('div', { class: 'tiles board-tiles', id: 'board-summary' });
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Day', id: 'board-days' });
  const status = h('p', { class: 'status-line', role: 'status', id: 'board-status' });
  const msg = h('div', { id: 'board-msg' });
  const tbody = h('tbody');
  const caption = h('caption', { class: 'vh' }, 'Appointments');
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data board', id: 'board-table' }, caption,
    h('thead', null, h('tr', null, ['Time', 'Patient', 'Provider', 'Location', 'Reason', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const empty = h('div', { class: 'empty', id: 'board-empty', hidden: true },
    h('span', { class: 'empty-icon', 'aria-hidden': 'true' }, icon('appointment', 36)),
    h('p', null, h('strong', null, 'No appointments this day.')),
    h('p', { class: 'muted' }, 'Book one below, or import the practice system\u2019s export.'));
  add(c, viewHead('Appointments', refreshBtn, bookLink),
    h('p', { class: 'intro' }, 'Today and tomorrow. The board updates by itself as patients answer.'),
    summary, tabs, msg, status, table, empty,
    h('div', { class: 'board-panels' }, bookPanel(ctx, () => load()), importPanel(ctx, () => load())));
  refreshBtn.addEventListener('click', () => load().then(() => { status.textContent = `Updated at ${clockFormat.format(new Date())}. ${status.textContent}`; }));

  let loading = null;
  let again = false;
  function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        let r;
        try {
          r = await api('GET', '/api/v1/appointments', undefined, { background: true });
        } catch (err) {
          if (ctx.alive() && !err.handled) put(msg, errorBox(err.message));
          return;
        }
        if (!ctx.alive()) return;
        put(msg);
        rows = (r.appointments || []).slice().sort((a, b) => new Date(a.starts_at) - new Date(b.starts_at));
        const wanted = memory.boardAppt;
        const hit = wanted ? rows.find((a) => a.id === wanted) : null;
        if (hit) day = clinicDay(new Date(hit.starts_at)) === days()[0].key ? 'Today' : 'Tomorrow';
        paint();
        if (wanted) {
          // Come from a request's "Booked: …" link: show that visit.
          memory.boardAppt = '';
          const tr = hit ? tbody.querySelector(`tr[data-id="${CSS.escape(wanted)}"]`) : null;
          if (tr) {
            tr.classList.add('hl');
            tr.querySelector('a').focus();
          } else {
            put(msg, h('p', { class: 'status-line', role: 'status', id: 'board-elsewhere' },
              'That appointment is not today or tomorrow: the board shows those two days. It is booked, and the patient can see it on their page.'));
          }
        }
        const dl = doc.getElementById('book-providers');
        if (dl) put(dl, [...new Set(rows.map((a) => a.provider).filter(Boolean))].sort().map((p) => h('option', { value: p })));
      } while (again && ctx.alive());
    })().finally(() => { loading = null; });
    return loading;
  }

  function rowsOf(d) {
    const list = days();
    return rows.filter((a) => {
      const k = clinicDay(new Date(a.starts_at));
      // Anything outside today and tomorrow (a clinic in another time zone)
      // goes with the nearer of the two.
      if (d.name === 'Today') return k <= list[0].key;
      return k > list[0].key;
    });
  }

  function paint() {
    const list = days();
    const now = Date.now();
    const open = rows.filter((a) => new Date(a.starts_at).getTime() > now - a.minutes * 60_000);
    const unconfirmed = open.filter((a) => a.status === 'scheduled');
    const cancelled = open.filter((a) => a.status === 'cancelled');
    const asked = rows.filter((a) => a.status === 'reschedule_requested');
    const tile = (id, label, n, note, cls, extra) => h('div', { class: `tile ${n ? cls : 'good'}`, id },
      h('p', { class: 'tile-label', id: `${id}-label` }, label),
      h('p', { class: 'tile-value' }, String(n)),
      h('p', { class: 'tile-note' }, note), extra);
    put(summary,
      tile('board-unconfirmed', 'Unconfirmed to call', unconfirmed.length,
        unconfirmed.length ? `${unconfirmed.filter((a) => !a.has_channel).length} cannot get a reminder` : 'Everyone has answered', 'warn'),
      tile('board-cancelled', 'Cancellations to fill', cancelled.length, cancelled.length ? 'Open slots to offer' : 'No open slots', 'bad'),
      tile('board-asked', 'Asked for another time', asked.length, asked.length ? '' : 'No requests', 'warn',
        asked.length ? h('ul', { class: 'tile-links' }, asked.map((a) => h('li', null, a.item_id
          ? h('a', { href: `#/inbox/${encodeURIComponent(a.item_id)}` }, a.patient || 'Unknown', h('span', { class: 'vh' }, ': open the request'))
          : (a.patient || 'Unknown')))) : null));

    if (!list.some((d) => d.name === day)) day = 'Today';
    put(tabs, list.map((d) => {
      const n = rowsOf(d).length;
      const on = d.name === day;
      const b = h('button', { type: 'button', class: 'tab', id: `board-day-${d.name.toLowerCase()}`, 'aria-pressed': String(on) },
        h('span', { class: 'tab-name' }, `${d.name} · ${dayName(d.key)}`),
        h('span', { class: 'count' }, String(n), h('span', { class: 'vh' }, n === 1 ? ' appointment' : ' appointments')));
      b.addEventListener('click', () => {
        day = d.name;
        memory.boardDay = day;
        paint();
        const t = doc.getElementById(`board-day-${d.name.toLowerCase()}`);
        if (t) t.focus();
      });
      return b;
    }));

    const cur = list.find((d) => d.name === day);
    const mine = rowsOf(cur);
    caption.textContent = `Appointments ${day.toLowerCase()}, ${dayName(cur.key)}, by time`;
    const active = doc.activeElement;
    const focusId = active && tbody.contains(active) ? active.closest('tr').dataset.id : '';
    put(tbody, mine.map(rowNode));
    if (focusId) {
      const l = tbody.querySelector(`tr[data-id="${CSS.escape(focusId)}"] a`);
      if (l) l.focus();
    }
    table.hidden = mine.length === 0;
    empty.hidden = mine.length > 0;
    const nc = mine.filter((a) => a.status === 'scheduled').length;
    status.textContent = mine.length
      ? [plural(mine.length, 'appointment', 'appointments'), nc ? `${nc} not confirmed yet` : 'all answered'].join(' · ')
      : '';
  }

  function rowNode(a) {
    const st = apptStatus[a.status] || { text: a.status, cls: '' };
    const start = new Date(a.starts_at);
    const past = start.getTime() + a.minutes * 60_000 < Date.now();
    const needsCall = a.status === 'scheduled';
    return h('tr', { class: [`a-${a.status}`, past ? 'past' : ''].filter(Boolean).join(' '), 'data-id': a.id },
      h('td', { class: 'c-time nowrap' }, h('time', { datetime: a.starts_at, title: formatTime(a.starts_at) }, clockFormat.format(start)),
        h('span', { class: 'sub' }, `${a.minutes} min`)),
      h('td', { class: 'c-patient' }, h('a', { href: `#/patients/${encodeURIComponent(a.patient_id)}` }, a.patient || 'Unknown patient'),
        a.patient_dob ? h('span', { class: 'sub' }, h('span', { class: 'vh' }, 'Born '), formatDOB(a.patient_dob)) : null),
      h('td', null, a.provider || h('span', { class: 'muted' }, '—')),
      h('td', null, a.location || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'c-reason' }, a.reason || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'c-status' },
        h('span', { class: `appt-status ${st.cls}` }, a.status === 'confirmed' ? icon('check', 14) : null, st.text),
        a.status === 'reschedule_requested' && a.preferred ? h('span', { class: 'sub pref' }, `Prefers: ${a.preferred}`) : null,
        a.request_id ? h('a', { class: 'sub-link', href: `#/inbox/${encodeURIComponent(a.request_id)}` },
          'From a request', h('span', { class: 'vh' }, ` by ${a.patient || 'the patient'}`)) : null,
        a.status === 'reschedule_requested' && a.item_id ? h('a', { class: 'sub-link', href: `#/inbox/${encodeURIComponent(a.item_id)}` },
          'Open the request', h('span', { class: 'vh' }, ` from ${a.patient || 'the patient'}`)) : null,
        needsCall && !a.has_channel ? h('span', { class: 'no-channel' }, icon('callback', 14), 'No reminder channel') : null,
        needsCall && a.phone ? h('span', { class: 'sub phone' }, a.has_channel ? h('span', { class: 'vh' }, 'Phone ') : 'Call to remind: ', a.phone) : null,
        needsCall && !a.phone && !a.has_channel ? h('span', { class: 'sub' }, 'No phone on file either') : null));
  }

  const refresh = debounce(() => { if (ctx.alive()) load(); }, 80);
  state.hooks.event = (e) => { if (typeof e.type === 'string' && e.type.startsWith('appointment.')) refresh(); };
  state.hooks.reopen = () => refresh();
  // Past visits dim as the day goes by (no request needed).
  const tick = setInterval(() => { if (ctx.alive()) paint(); else clearInterval(tick); }, 60_000);
  state.hooks.leave = () => clearInterval(tick);
  load();
  return null;
}

// bookPanel is the booking form: a patient picker, then the visit.
function bookPanel(ctx, onBooked) {
  let chosen = null;
  const results = h('ul', { class: 'pick-list', id: 'book-results', 'aria-label': 'Matching patients', hidden: true });
  const chosenBox = h('div', { class: 'picked', id: 'book-picked', hidden: true });
  const pickStatus = h('p', { class: 'status-line small-text', role: 'status', id: 'book-pick-status' });
  const done = h('div', { id: 'book-done' });
  const f = makeForm('book', [
    { name: 'patient_id', label: 'Patient', type: 'search', hint: 'Type two or more letters of the name, a birth date or a phone number, then choose.',
      attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { node: pickStatus }, { node: results }, { node: chosenBox },
    { node: h('div', { class: 'grid-form book-grid' }) },
    { name: 'starts_at', label: 'Date and time', type: 'datetime-local', hint: `In the clinic\u2019s time${clinicZone ? ` (${clinicZone.replace(/_/g, ' ')})` : ''}.` },
    { name: 'minutes', label: 'Length (minutes)', type: 'number', value: '15', attrs: { min: 5, max: 480, step: 5, inputmode: 'numeric' } },
    { name: 'provider', label: 'Provider', attrs: { maxlength: 200, list: 'book-providers' } },
    { name: 'location', label: 'Location', attrs: { maxlength: 200 } },
    { name: 'reason', label: 'Reason', hint: 'Shown to the patient, so write it for them: “Blood pressure check”.', attrs: { maxlength: 200 } },
  ], {
    submit: 'Book the appointment', label: 'Book an appointment', class: 'book-form',
    async onSubmit(v) {
      put(done);
      if (!chosen) throw fieldError('patient_id', 'Search for the patient, then choose them from the list.');
      if (!v.starts_at) throw fieldError('starts_at', 'Give the date and time.');
      const when = wallTime(v.starts_at);
      if (!when) throw fieldError('starts_at', 'Give the date and time, like 12/01/2026 09:30 AM.');
      const minutes = Number(v.minutes || 15);
      if (!Number.isInteger(minutes)) throw fieldError('minutes', 'Give the length in whole minutes.');
      const r = await api('POST', '/api/v1/appointments', { patient_id: chosen.id, starts_local: when, time_zone: clinicZone || '', minutes,
        provider: v.provider.trim(), location: v.location.trim(), reason: v.reason.trim() });
      if (!ctx.alive()) return;
      const m = okMessage(`Booked: ${chosen.name}, ${formatWhen(r.appointment.starts_at)}. They can confirm it from their page.`);
      m.id = 'book-ok';
      f.el.reset();
      f.fields.minutes.input.value = '15';
      choose(null);
      put(done, m);
      m.focus();
      onBooked();
    },
  });
  // Put date/time and length side by side.
  add(f.el.querySelector('.book-grid'), f.fields.starts_at.wrap, f.fields.minutes.wrap, f.fields.provider.wrap, f.fields.location.wrap,
    h('datalist', { id: 'book-providers' }));
  add(f.el, done);

  const q = f.fields.patient_id.input;
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
      put(results, list.map((p) => h('li', null, h('button', { type: 'button', class: 'pick', 'data-id': p.id, onclick: () => { choose(p); } },
        h('span', { class: 'pick-name' }, p.name), h('span', { class: 'pick-sub' }, `Born ${formatDOB(p.dob)}${p.phone ? ` · ${p.phone}` : ''}`)))));
      results.hidden = list.length === 0;
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      f.fields.patient_id.setError(err.message);
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
  function choose(p) {
    chosen = p;
    f.fields.patient_id.clear();
    put(results);
    results.hidden = true;
    pickStatus.textContent = p ? `Chosen: ${p.name}.` : '';
    f.fields.patient_id.wrap.hidden = !!p;
    chosenBox.hidden = !p;
    if (!p) { put(chosenBox); q.value = ''; return; }
    const change = h('button', { type: 'button', class: 'link small', id: 'book-change' }, 'Change', h('span', { class: 'vh' }, ' patient'));
    change.addEventListener('click', () => { choose(null); q.focus(); });
    put(chosenBox, h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
      h('span', null, h('strong', { id: 'book-picked-name' }, p.name), h('span', { class: 'sub' }, `Born ${formatDOB(p.dob)}${p.phone ? ` · ${p.phone}` : ''}`)),
      change);
    f.fields.starts_at.input.focus();
  }
  // A server error about the patient shows on the (hidden) search field:
  // bring it back.
  const origError = f.error;
  f.error = (err) => { if (err && err.field === 'patient_id') choose(null); origError(err); };

  return h('section', { class: 'card board-panel', id: 'board-book-panel', 'aria-labelledby': 'book-title', tabindex: '-1' },
    h('h2', { id: 'book-title' }, 'Book an appointment'), f.el);
}
