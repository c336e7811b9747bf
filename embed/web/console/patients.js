// Patients: search, one patient's record (requests, portal invitations,
// signed-in devices, who looked at it) and a new patient.

import { api } from './api.js';
import { add, backLink, debounce, errorBox, fact, field, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { dueWords, formatDOB, formatTime, formatWhen, langNames, longDate, plural, roleName } from './format.js';
import { memory, state } from './state.js';
import { queueName, rememberRows } from './team.js';
import { accessWords, statusName, typeBadge, urgentBadge } from './words.js';

// --- Patients

export function viewPatients(c, ctx) {
  if (ctx.arg === 'new') return viewPatientNew(c, ctx);
  if (ctx.arg) return viewPatient(c, ctx, ctx.arg);

  const q = field('psearch', {
    name: 'q', label: 'Find a patient', type: 'search', value: memory.patientQuery || '',
    hint: 'First letters of a name (first or last), a birth date like 03/14/1961, or a phone number.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  });
  const status = h('p', { class: 'status-line', role: 'status', id: 'psearch-status', tabindex: '-1' });
  const results = h('div', { id: 'patient-results' });
  const form = h('form', { role: 'search', class: 'search', 'aria-label': 'Patients', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); run(); } }, q.wrap);
  add(c, 
    viewHead('Patients', h('a', { class: 'button primary', href: '#/patients/new', id: 'patient-new' }, '+ New patient')),
    form, status, results);

  let seq = 0;
  const later = debounce(run, 300);
  q.input.addEventListener('input', later);

  async function run() {
    const text = q.input.value.trim();
    memory.patientQuery = text;
    const mine = ++seq;
    q.clear();
    if (text.length < 2) {
      put(results);
      status.textContent = text ? 'Type at least two characters.' : '';
      return;
    }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = r.patients || [];
      status.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found.` : 'No patient matches. Check the spelling, or try the birth date or phone number.';
      put(results, list.length ? patientTable(list) : '');
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      status.textContent = '';
      put(results);
      if (err.field === 'q') q.setError(err.message);
      else put(results, errorBox(err.message));
    }
  }
  if (memory.patientQuery) run();
  return q.input;
}

function patientTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'patient-table' },
    h('caption', { class: 'vh' }, 'Matching patients'),
    h('thead', null, h('tr', null, ['Name', 'Birth date', 'Age', 'Phone'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, list.map((p) => {
      const href = `#/patients/${encodeURIComponent(p.id)}`;
      // The whole row opens the record for a mouse; the name link is the
      // keyboard and screen-reader way.
      return h('tr', { class: 'go', onclick: (e) => { if (!e.target.closest('a')) location.hash = href; } },
        h('td', null, h('a', { href }, p.name)),
        h('td', { class: 'nowrap' }, formatDOB(p.dob)),
        h('td', null, String(p.age)),
        h('td', { class: 'nowrap' }, p.phone || '—'));
    }))));
}

function viewPatient(c, ctx, id) {
  const title = h('h1', { tabindex: '-1', id: 'patient-name' }, 'Patient');
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  const extras = h('div', { id: 'patient-extras' });
  const mergeBox = h('div', { id: 'merge-box' });
  const flashBox = h('div', { id: 'patient-flash' });
  const flash = memory.flash;
  memory.flash = '';
  if (flash) put(flashBox, okMessage(flash));
  add(c, backLink('#/patients', 'Back to patients'), flashBox,
    h('section', { class: 'patient-banner', id: 'patient-banner', 'aria-labelledby': 'patient-name' }, title, body), mergeBox, extras);

  // show (re)reads the record and lays out the page; after a correction
  // or a merge it runs again with a message to say what changed.
  function show(message) {
    body.setAttribute('aria-busy', 'true');
    return api('GET', `/api/v1/patients/${encodeURIComponent(id)}`).then((p) => {
      if (!ctx.alive()) return;
      title.textContent = p.name;
      const n = p.same_name || 0;
      const owner = state.me && state.me.staff && state.me.staff.role === 'owner';
      const editBtn = h('button', { type: 'button', class: 'small', id: 'patient-edit' }, 'Edit');
      const mergeBtn = owner ? h('button', { type: 'button', class: 'small', id: 'patient-merge-open', 'aria-controls': 'merge-box' }, 'Merge into this record…') : null;
      const facts = h('dl', { class: 'facts' },
        fact('Born', `${formatDOB(p.dob)}`),
        fact('Age', String(p.age)),
        fact('Phone', p.phone ? (p.not_mobile ? `${p.phone} (not a mobile number: no texts)` : p.phone) : 'Not given'),
        fact('Email', p.email || 'Not given'),
        fact('Language', langNames[p.lang] || p.lang || 'English'),
        fact('Texts', textsWords(p)));
      const view = () => put(body,
        n > 0 ? h('div', { class: 'warn-banner', role: 'alert', id: 'same-name' },
          h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
          h('span', null, n === 1
            ? 'Another patient has the same name — check the birth date.'
            : `${n} other patients have the same name — check the birth date.`)) : null,
        facts, h('div', { class: 'actions' }, editBtn, mergeBtn));
      view();
      editBtn.addEventListener('click', () => {
        const f = editForm(p, async (r) => {
          if (!r || !r.changed || !r.changed.length) { view(); editBtn.focus(); return; }
          await show(`Record corrected: ${r.changed.map((k) => fieldNames[k] || k).join(', ')}. The change is in the record’s history.`);
        }, () => { view(); editBtn.focus(); });
        put(body, f.el);
        f.fields.name.input.focus();
      });
      if (mergeBtn) {
        mergeBtn.addEventListener('click', () => {
          put(mergeBox, mergePanel(ctx, p, async (r) => {
            put(mergeBox);
            await show(`Merged: ${plural(r.moved.items || 0, 'request', 'requests')}, ${plural(r.moved.appointments || 0, 'appointment', 'appointments')} and ${plural(r.moved.devices || 0, 'device', 'devices')} moved to this record. The other record is gone.`);
          }, () => { put(mergeBox); mergeBtn.focus(); }));
        });
      }
      body.removeAttribute('aria-busy');
      put(extras, h('p', { class: 'actions' }, h('a', { class: 'button primary', href: `#/write/${encodeURIComponent(p.id)}`, id: 'patient-write' }, `Write to ${p.name}`)),
        patientExtras(ctx, p));
      if (message) {
        const m = okMessage(message);
        put(flashBox, m);
        m.focus();
      }
    }).catch((err) => {
      if (!ctx.alive() || err.handled) return;
      title.textContent = err.code === 'not_found' ? 'Patient not found' : 'Patient';
      put(body, errorBox(err.code === 'not_found' ? 'There is no patient record at this address.' : err.message));
      put(extras);
      body.removeAttribute('aria-busy');
    });
  }
  show();
  return flash ? flashBox.querySelector('.ok-msg') : title;
}

const fieldNames = { name: 'name', dob: 'birth date', phone: 'phone', email: 'email', lang: 'language', sms: 'texts' };

// usDate writes a stored birth date (YYYY-MM-DD) the way the form asks for
// it, month/day/year.
function usDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
  return m ? `${m[2]}/${m[3]}/${m[1]}` : (iso || '');
}

// showFieldErrors puts every field's problem beside its field (the API
// lists them all when there are several) and focuses the first.
function showFieldErrors(form, err) {
  const list = err && err.body && err.body.fields;
  if (!list || !list.length) return false;
  let first = null;
  for (const fe of list) {
    const f = form.fields[fe.field];
    if (!f) continue;
    f.setError(fe.error);
    first = first || f;
  }
  if (!first) return false;
  first.input.focus();
  return true;
}

// editForm corrects a record: only the fields changed are sent. done gets
// the answer (or null when nothing changed).
function editForm(p, done, cancel) {
  const before = { name: p.name, dob: usDate(p.dob), phone: p.phone || '', email: p.email || '', lang: p.lang || 'en' };
  const textsBefore = !!(p.sms_consent && p.sms_consent.on);
  const form = makeForm('patientedit', [
    { name: 'name', label: 'Full name', value: before.name, attrs: { maxlength: 120, spellcheck: 'false' } },
    { name: 'dob', label: 'Birth date', value: before.dob, hint: 'Month/day/year, like 03/14/1961. The patient signs in with it.', attrs: { maxlength: 10 } },
    { name: 'phone', label: 'Phone (optional)', type: 'tel', value: before.phone, hint: 'With the area code, like 555-201-3344.' },
    { name: 'email', label: 'Email (optional)', type: 'email', value: before.email, attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'lang', label: 'Language for messages', type: 'select', options: Object.entries(langNames), value: before.lang },
    { name: 'sms', label: 'The patient agrees to texts', type: 'checkbox', value: textsBefore,
      hint: 'Only with the patient\u2019s yes. A mobile number must be on the record.' },
    { name: 'sms_words', label: 'The patient\u2019s words (when they answer about texts)', hint: 'What they said, like \u201cyes, text me\u201d.', attrs: { maxlength: 500 } },
  ], {
    submit: 'Save the correction', label: 'Correct the record',
    secondary: h('button', { type: 'button', id: 'patientedit-cancel', onclick: cancel }, 'Cancel'),
    onError: (err) => showFieldErrors(form, err),
    async onSubmit(v) {
      const change = {};
      for (const k of Object.keys(before)) if (v[k] !== before[k]) change[k] = v[k];
      if (v.sms !== textsBefore) { change.sms = v.sms; change.sms_words = (v.sms_words || '').trim(); }
      if (!Object.keys(change).length) { await done(null); return; }
      const r = await api('PATCH', `/api/v1/patients/${encodeURIComponent(p.id)}`, change);
      await done(r);
    },
  });
  form.el.prepend(h('p', { class: 'hint' }, 'Correct what was typed wrong. Each change is recorded (which fields, by whom, when), and the patient can see that their record was corrected.'));
  return form;
}

// mergePanel lets an owner pick another record of the same person (with
// the patient search), shows the two side by side, and merges the other
// into this one with a reason. done gets the server's answer.
function mergePanel(ctx, keep, done, cancel) {
  const headId = 'merge-title';
  const q = field('mergesearch', {
    name: 'q', label: 'Find the other record', type: 'search',
    hint: 'A name, a birth date like 03/14/1961, or a phone number.', attrs: { spellcheck: 'false', autocapitalize: 'none' },
  });
  const results = h('div', { id: 'merge-results' });
  const compare = h('div', { id: 'merge-compare' });
  const searchBtn = h('button', { type: 'submit', class: 'small', id: 'mergesearch-submit' }, 'Search');
  const form = h('form', { role: 'search', class: 'search', 'aria-label': 'Find the other record', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); find(); } }, q.wrap, h('div', { class: 'actions' }, searchBtn));
  const close = h('button', { type: 'button', class: 'small', id: 'merge-cancel', onclick: cancel }, 'Cancel');
  const head = h('h2', { id: headId, tabindex: '-1' }, `Merge another record into ${keep.name}’s`);
  const panel = h('section', { class: 'card wide', id: 'merge-panel', 'aria-labelledby': headId }, head,
    h('p', { class: 'muted' }, 'When one person was registered twice: everything of the other record (requests, appointments, signed-in devices, caregivers, invitations) moves here, and the other record is removed. This cannot be undone.'),
    form, results, compare, h('div', { class: 'actions' }, close));
  setTimeout(() => head.focus(), 0);

  async function find() {
    q.clear();
    put(compare);
    const text = q.input.value.trim();
    if (text.length < 2) { q.setError('Type at least two characters.'); q.input.focus(); return; }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (!ctx.alive()) return;
      const list = (r.patients || []).filter((o) => o.id !== keep.id);
      put(results, list.length ? h('ul', { class: 'plain', id: 'merge-candidates' }, list.map((o) => h('li', null,
        h('button', { type: 'button', class: 'small', onclick: () => pick(o.id) }, `Compare ${o.name}, born ${formatDOB(o.dob)}`))))
        : h('p', { class: 'muted', role: 'status' }, 'No other record matches.'));
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.field === 'q') q.setError(err.message); else put(results, errorBox(err.message));
    }
  }

  async function pick(otherId) {
    let other;
    try {
      other = await api('GET', `/api/v1/patients/${encodeURIComponent(otherId)}`);
    } catch (err) {
      if (!err.handled) put(compare, errorBox(err.message));
      return;
    }
    if (!ctx.alive()) return;
    const k = keep.counts || {};
    const o = other.counts || {};
    const rows = [
      ['Name', keep.name, other.name],
      ['Birth date', formatDOB(keep.dob), formatDOB(other.dob)],
      ['Phone', keep.phone || '—', other.phone || '—'],
      ['Email', keep.email || '—', other.email || '—'],
      ['Language', langNames[keep.lang] || keep.lang, langNames[other.lang] || other.lang],
      ['Requests', String(k.items || 0), String(o.items || 0)],
      ['Appointments', String(k.appointments || 0), String(o.appointments || 0)],
    ];
    const t = h('table', { class: 'data compare', id: 'merge-table' },
      h('caption', { tabindex: '-1' }, 'The two records, side by side'),
      h('thead', null, h('tr', null, h('td'), h('th', { scope: 'col' }, 'This record (kept)'), h('th', { scope: 'col' }, 'The other record (moved here, then removed)'))),
      h('tbody', null, rows.map(([label, a, b]) => h('tr', { class: a !== b && label !== 'Requests' && label !== 'Appointments' ? 'differs' : null },
        h('th', { scope: 'row' }, label), h('td', null, a), h('td', null, b)))));
    const mf = makeForm('merge', [
      { name: 'reason', label: 'Why are these the same person?', type: 'textarea', rows: 2,
        hint: 'For example: “Registered twice; confirmed by phone with the patient.” It is kept with the record, and the merge is logged.' },
    ], {
      submit: 'Merge the records', label: 'Merge', submitClass: 'danger',
      async onSubmit(v) {
        if (!v.reason.trim()) throw fieldError('reason', 'Write why these are the same person.');
        const r = await api('POST', `/api/v1/patients/${encodeURIComponent(keep.id)}/merge`, { from: other.id, reason: v.reason.trim() });
        await done(r);
      },
    });
    const differs = rows.slice(0, 5).some(([, a, b]) => a !== b);
    put(compare, h('div', { class: 'table-wrap flat' }, t),
      differs ? h('p', { class: 'err' }, 'Some details differ. The kept record’s details stay; correct them afterwards with Edit if the other record had them right.') : null,
      mf.el);
    t.querySelector('caption').focus();
  }
  return panel;
}

// patientExtras: the patient's requests, portal access (invite letters and
// caregivers), signed-in devices, and who looked at the record.

function patientExtras(ctx, p) {
  const pid = encodeURIComponent(p.id);
  const items = h('section', { class: 'card', 'aria-labelledby': 'pi-title', id: 'patient-items' },
    h('h2', { id: 'pi-title' }, 'Requests'), h('p', { class: 'muted' }, 'Loading…'));
  const access = h('section', { class: 'card', 'aria-labelledby': 'pa-title', id: 'patient-access' });
  const devices = h('section', { class: 'card', 'aria-labelledby': 'pd-title', id: 'patient-devices' });
  const report = h('section', { class: 'card', 'aria-labelledby': 'pr-title', id: 'patient-report' });
  const letterWrap = h('div', { class: 'letter-wrap', id: 'letter-wrap', hidden: true });

  api('GET', `/api/v1/patients/${pid}/items`).then((r) => {
    if (!ctx.alive()) return;
    const rows = r.items || [];
    rememberRows(rows);
    put(items, h('h2', { id: 'pi-title' }, 'Requests'),
      rows.length ? h('div', { class: 'table-wrap flat' }, h('table', { class: 'data', id: 'patient-items-table' },
        h('thead', null, h('tr', null, ['Received', 'Request', 'Status', 'Due'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.map((it) => {
          const d = dueWords(it);
          return h('tr', null,
            h('td', { class: 'nowrap' }, h('time', { datetime: it.created_at, title: formatTime(it.created_at) }, formatWhen(it.created_at))),
            h('td', null, h('div', { class: 'req-line' }, it.priority === 'urgent' ? urgentBadge() : null, typeBadge(it.type)),
              h('a', { href: `#/inbox/${encodeURIComponent(it.id)}` }, it.subject || `In ${queueName(it.queue)} (a queue you do not work)`)),
            h('td', null, h('span', { class: `status s-${it.status}` }, statusName(it.status))),
            h('td', { class: 'nowrap' }, h('span', { class: d.cls }, d.text)));
        }))))
        : h('p', { class: 'muted' }, 'No requests yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(items, h('h2', { id: 'pi-title' }, 'Requests'), errorBox(err.message)); });

  // Invitations.
  const accessMsg = h('div', { id: 'invite-msg' });
  const printBtn = h('button', { type: 'button', class: 'primary', id: 'invite-print' }, 'Print invite letter');
  const cgToggle = h('button', { type: 'button', id: 'invite-caregiver', 'aria-expanded': 'false', 'aria-controls': 'caregiver-form' }, 'Invite a caregiver');
  const cgForm = makeForm('caregiver', [
    { name: 'caregiver', label: 'Caregiver\u2019s name', hint: `Someone ${p.name.split(' ')[0]} allows to write and read on their behalf, like a parent or an adult child.`, attrs: { maxlength: 120 } },
  ], {
    submit: 'Make the caregiver letter', label: 'Invite a caregiver',
    async onSubmit(v) {
      if (!v.caregiver.trim()) throw fieldError('caregiver', 'Write the caregiver\u2019s name.');
      await invite(v.caregiver.trim());
    },
  });
  const cgBox = h('div', { id: 'caregiver-form', hidden: true, class: 'sub-card' }, cgForm.el);
  cgToggle.addEventListener('click', () => {
    const show = cgBox.hidden;
    cgBox.hidden = !show;
    cgToggle.setAttribute('aria-expanded', String(show));
    if (show) cgForm.fields.caregiver.input.focus();
  });
  printBtn.addEventListener('click', () => invite('').catch((err) => { if (!err.handled) put(accessMsg, inviteError(err)); }));
  // Texting the invite: the link and the code go to the patient's mobile
  // (only for a patient who agreed to texts; the server says what is missing).
  const textBtn = h('button', { type: 'button', id: 'invite-text' }, 'Text the invite');
  textBtn.addEventListener('click', () => {
    put(accessMsg);
    api('POST', `/api/v1/patients/${pid}/invites`, { text: true }).then(() => {
      if (!ctx.alive()) return;
      const m = okMessage('The invite (the link and the code) is on its way to the patient’s mobile. It waits until 8 am if it is night.');
      put(accessMsg, m);
      m.focus();
      loadDevices();
    }).catch((err) => { if (!err.handled) put(accessMsg, inviteError(err)); });
  });
  add(access, h('h2', { id: 'pa-title' }, 'Patient portal'),
    h('p', { class: 'muted' }, 'A letter with a code lets the patient (or a caregiver) sign in from their own phone or computer. Each letter has its own code, which works once and expires.'),
    accessMsg, h('div', { class: 'actions' }, printBtn, textBtn, cgToggle), cgBox);

  // inviteError: a letter refused because patients have no address to go
  // to yet says where the owner sets it (the owner gets the link).
  function inviteError(err) {
    if (err.code !== 'conflict' || err.field !== 'public_url') return errorBox(err.message);
    const owner = state.me && state.me.staff && state.me.staff.role === 'owner';
    const box = h('div', { class: 'alert-box', role: 'alert', id: 'letter-blocked', tabindex: '-1' },
      h('strong', null, 'The letter cannot be printed yet. '), err.message,
      owner ? h('p', null, h('a', { href: '#/settings', id: 'letter-blocked-settings' }, 'Open Settings')) : null);
    setTimeout(() => box.focus(), 0);
    return box;
  }

  async function invite(caregiver) {
    put(accessMsg);
    const r = await api('POST', `/api/v1/patients/${pid}/invites`, caregiver ? { caregiver, letter: true } : { letter: true });
    if (!ctx.alive()) return;
    cgBox.hidden = true;
    cgToggle.setAttribute('aria-expanded', 'false');
    cgForm.el.reset();
    showLetter(r, caregiver);
    loadDevices();
  }

  // urlParts breaks the sign-in address only between the clinic's address
  // and the code's path, never inside either.
  function urlParts(url) {
    const at = url.lastIndexOf('/i/');
    if (at <= 0) return [h('span', { class: 'nowrap' }, url)];
    return [h('span', { class: 'nowrap' }, url.slice(0, at)), h('wbr'), h('span', { class: 'nowrap' }, url.slice(at))];
  }

  // showLetter lays out the letter the server wrote, in the patient's
  // language; the bar above it speaks to staff and is not printed.
  function showLetter(r, caregiver) {
    const L = r.letter || {};
    const until = longDate.format(new Date(r.expires_at));
    const qr = typeof r.qr === 'string' && r.qr.startsWith('data:image/png;base64,') ? r.qr : '';
    const title = h('h2', { id: 'letter-title', tabindex: '-1' }, caregiver ? 'Caregiver letter ready' : 'Invite letter ready');
    const printIt = h('button', { type: 'button', class: 'primary', id: 'letter-print' }, 'Print');
    printIt.addEventListener('click', () => window.print());
    const closeIt = h('button', { type: 'button', id: 'letter-close' }, 'Done');
    closeIt.addEventListener('click', () => { letterWrap.hidden = true; put(letterWrap); printBtn.focus(); });
    const lang = L.lang && L.lang !== 'en' ? ` It is written in ${langNames[L.lang] || L.lang}, the patient\u2019s language.` : '';
    put(letterWrap,
      h('div', { class: 'letter-bar noprint' }, title,
        h('p', { class: 'muted' }, `Print it and hand it over in person. The code expires ${until}.${lang}`),
        h('div', { class: 'actions' }, printIt, closeIt)),
      h('article', { class: 'letter', id: 'letter', lang: L.lang || 'en', 'aria-label': L.label },
        h('header', { class: 'letter-head' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'), h('span', null, L.clinic)),
        h('p', { class: 'letter-to' }, L.to),
        h('h3', { class: 'letter-title' }, L.title),
        h('p', null, L.lead),
        h('div', { class: 'letter-grid' },
          qr ? h('img', { class: 'letter-qr', src: qr, alt: L.qr_alt, width: 220, height: 220 }) : null,
          h('ol', { class: 'letter-steps' },
            h('li', null, qr ? L.step_scan : L.step_type, h('span', { class: 'letter-url', id: 'letter-url' }, urlParts(L.url || r.url))),
            h('li', null, L.step_code, h('span', { class: 'letter-code', id: 'letter-code' }, L.code)),
            h('li', null, L.step_dob))),
        h('p', { class: 'letter-small' }, L.private),
        h('p', { class: 'letter-small', id: 'letter-emergency' }, L.emergency)));
    letterWrap.hidden = false;
    title.focus();
  }

  // Devices.
  function loadDevices(message) {
    api('GET', `/api/v1/patients/${pid}/devices`).then((r) => {
      if (!ctx.alive()) return;
      const ds = r.devices || [];
      const m = message ? okMessage(message) : null;
      put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), m,
        ds.length ? h('ul', { class: 'plain devices', id: 'device-list' }, ds.map((d) => h('li', null,
          h('span', null, h('strong', null, d.label || 'A device'),
            h('span', { class: 'sub' }, d.caregiver ? `Caregiver: ${d.caregiver} · ` : '', d.shared ? 'Shared computer · ' : '',
              'since ', h('time', { datetime: d.created }, formatTime(d.created)))),
          h('button', { type: 'button', class: 'small danger', onclick: async () => {
            if (!window.confirm(`Sign out ${d.label || 'this device'}? ${d.caregiver ? `${d.caregiver} will need a new letter to sign in again.` : 'It will need a new letter to sign in again.'}`)) return;
            try {
              await api('DELETE', `/api/v1/devices/${encodeURIComponent(d.id)}`);
              loadDevices('Device signed out.');
            } catch (err) { if (!err.handled) put(devices, errorBox(err.message)); }
          } }, 'Sign out', h('span', { class: 'vh' }, ` ${d.label || 'device'}`)))))
          : h('p', { class: 'muted' }, 'No device is signed in to the portal.'));
      if (m) m.focus();
    }).catch((err) => { if (ctx.alive() && !err.handled) put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), errorBox(err.message)); });
  }
  loadDevices();

  // Access report.
  api('GET', `/api/v1/patients/${pid}/access`).then((r) => {
    if (!ctx.alive()) return;
    const evs = (r.events || []).slice().reverse();
    put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'),
      h('p', { class: 'muted' }, `Every time staff opened or changed it, newest first. ${p.name.split(' ')[0]} can see this list too.`),
      evs.length ? h('div', { class: 'table-wrap flat scroll', tabindex: '0', role: 'region', 'aria-label': 'Access report, scrollable' }, h('table', { class: 'data compact', id: 'access-table' },
        h('thead', null, h('tr', null, ['When', 'Who', 'What'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, evs.map((e) => h('tr', null,
          h('td', { class: 'nowrap' }, h('time', { datetime: e.at, title: formatTime(e.at) }, formatWhen(e.at))),
          h('td', null, e.actor_name, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
          h('td', null, accessWords[e.action] || e.action))))))
        : h('p', { class: 'muted' }, 'Nobody yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'), errorBox(err.message)); });

  return [letterWrap, h('div', { class: 'patient-grid' }, items, access, devices, report)];
}

// textsWords says whether the patient gets texts, and since when and how
// they said so; an opt-out by STOP comes first.
const consentHow = { staff: 'told staff', invite: 'on the invite page', me: 'on their page', text: 'by text' };
function textsWords(p) {
  if (p.sms_stopped) return `Off: the patient texted STOP on ${formatTime(p.sms_stopped)}. Nothing is texted until they text START or agree again.`;
  const c = p.sms_consent;
  if (!c) return 'Not asked yet';
  const how = `${consentHow[c.how] || c.how}, ${formatTime(c.at)}`;
  return `${c.on ? 'Yes' : 'No'} (${how})${c.words ? `: “${c.words}”` : ''}`;
}

function viewPatientNew(c, ctx) {
  const f = makeForm('patientnew', [
    { name: 'name', label: 'Full name', attrs: { maxlength: 120, spellcheck: 'false' } },
    { name: 'dob', label: 'Birth date', hint: 'Month/day/year, like 03/14/1961.', attrs: { maxlength: 10 } },
    { name: 'phone', label: 'Phone (optional)', type: 'tel', hint: 'With the area code, like 555-201-3344.' },
    { name: 'email', label: 'Email (optional)', type: 'email', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'lang', label: 'Language for messages', type: 'select', options: Object.entries(langNames), value: 'en' },
    { name: 'sms', label: 'The patient agrees to texts', type: 'checkbox', value: false,
      hint: 'Reply notices and reminders by text, to the phone above (a mobile). Ask the patient first.' },
    { name: 'sms_words', label: 'The patient’s words (when they agree to texts)', hint: 'What they said, like “yes, text me”.', attrs: { maxlength: 500 } },
  ], {
    submit: 'Create patient', label: 'New patient',
    secondary: h('a', { class: 'button', href: '#/patients' }, 'Cancel'),
    onError: (err) => showFieldErrors(f, err) || duplicate(err),
    async onSubmit(v) {
      await create(v, false);
    },
  });
  const dupBox = h('div', { id: 'duplicate-box' });
  f.el.insertBefore(dupBox, f.el.querySelector('.form-msg'));

  async function create(v, confirm) {
    put(dupBox);
    const body = { name: v.name, dob: v.dob, phone: v.phone, email: v.email, lang: v.lang, sms: v.sms, sms_words: (v.sms_words || '').trim() };
    if (confirm) body.confirm_duplicate = true;
    const r = await api('POST', '/api/v1/patients', body);
    if (!ctx.alive()) return;
    memory.flash = 'Patient record created.';
    location.hash = `#/patients/${encodeURIComponent(r.id)}`;
  }

  // duplicate: the same name and birth date are on file already. Staff
  // open the existing record, or say this is another person.
  function duplicate(err) {
    if (!err || err.code !== 'duplicate') return false;
    const ids = (err.body && err.body.existing) || [];
    const v = f.values();
    const anyway = h('button', { type: 'button', class: 'small', id: 'duplicate-create' }, 'Create anyway');
    anyway.addEventListener('click', () => f.run((vals) => create(vals, true)));
    const box = h('div', { class: 'warn-banner', role: 'alert', id: 'duplicate-warning', tabindex: '-1' },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
      h('div', null,
        h('p', null, h('strong', null, ids.length === 1
          ? `A patient named ${v.name.trim()}, born ${v.dob.trim()}, is already on file.`
          : `${ids.length} patients named ${v.name.trim()}, born ${v.dob.trim()}, are already on file.`)),
        h('p', null, 'Open the existing record instead, or create this one anyway only if it is a different person (twins, for example).'),
        h('ul', { class: 'plain' }, ids.map((id, i) => h('li', null,
          h('a', { href: `#/patients/${encodeURIComponent(id)}`, class: 'dup-link' }, ids.length === 1 ? 'Open the existing record' : `Open existing record ${i + 1}`)))),
        h('div', { class: 'actions' }, anyway)));
    put(dupBox, box);
    box.focus();
    return true;
  }
  add(c, backLink('#/patients', 'Back to patients'), viewHead('New patient'), h('div', { class: 'card wide' }, f.el));
  return f.fields.name.input;
}
