// Settings → Text messages (owner): the transport (an SMS gateway or a USB
// modem), its details, the clinic's country for phone numbers, a test text
// whose outcome shows in words, the transport's state, and the outbox: every
// email and text with its state, tries and last error (no address, no words).
// The gateway token is write-only: the server answers sms_token_set, and an
// empty field keeps it.

import { api } from './api.js';
import { add, doc, fieldError, h, makeForm, okMessage, put } from './dom.js';
import { formatTime } from './format.js';
import { sectionCard } from './settings_work.js';

const transports = [['off', 'Off: no texts'], ['gateway', 'An SMS gateway (a provider, over the internet)'], ['modem', 'A USB modem with a SIM card, on this computer']];

// statusLine says in words whether texts can go now.
function statusLine(st) {
  if (!st) return h('p', { class: 'muted' }, 'Checking the text transport…');
  if (st.transport === 'off') return h('p', { class: 'muted', id: 'sms-state' }, 'Texts are off.');
  return h('p', { id: 'sms-state', class: st.ok ? 'ok-msg' : 'alert-box', role: 'status' },
    h('strong', null, st.ok ? 'Texts can go: ' : 'Texts cannot go now: '), st.words + '.');
}

export function textsCard(s) {
  const sms = s.sms || {};
  let tokenSet = !!s.sms_token_set;
  const tokenHint = () => (tokenSet ? 'Saved. Leave empty to keep it; type a new one to replace it.' : 'The auth token your provider shows with the account.');
  const state = h('div', { id: 'sms-status' }, statusLine(null));
  const refresh = () => api('GET', '/api/v1/sms/status').then((st) => {
    put(state, statusLine(st));
    if (st.hook_url) add(state, h('p', { class: 'hint' }, 'Give the gateway this address for incoming texts and delivery reports: ', h('code', null, st.hook_url)));
  }).catch((err) => { if (!err.handled) put(state, h('p', { class: 'err' }, `The state could not be read: ${err.message}`)); });
  refresh();

  const f = makeForm('texts', [
    { name: 'transport', label: 'Send texts with', type: 'select', options: transports, value: sms.transport || 'off' },
    { name: 'from', label: 'The clinic\u2019s texting number', type: 'tel', value: sms.from || '', hint: 'The number patients see texts from, with its area code.' },
    { name: 'region', label: 'Country of the clinic', value: s.region || 'US', hint: 'Two letters, like US or MX. Numbers written without a country code are read as this country\u2019s.',
      attrs: { maxlength: 2, spellcheck: 'false', autocapitalize: 'characters' } },
    { group: 'SMS gateway', items: [
      { name: 'gateway_url', label: 'Gateway address', value: sms.gateway_url || '', hint: 'Like https://api.twilio.com, from your provider.', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'account', label: 'Account', value: sms.account || '', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'token', label: 'Token', type: 'password', autocomplete: 'new-password', hint: tokenHint(),
        attrs: { placeholder: tokenSet ? '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)' : null } },
    ] },
    { group: 'USB modem', items: [
      { name: 'device', label: 'Modem port', value: sms.device || '', hint: 'Like /dev/ttyUSB0. The modem needs a SIM card with its PIN turned off.', attrs: { spellcheck: 'false' } },
    ] },
  ], {
    submit: 'Save text settings', label: 'Text message settings',
    onError(err) {
      if (!err.field || !err.field.startsWith('sms.')) return false;
      const fld = f.fields[err.field.slice(4)];
      if (!fld) return false;
      fld.setError(err.message);
      fld.input.focus();
      return true;
    },
    async onSubmit(v) {
      const region = v.region.trim().toUpperCase();
      if (region && !/^[A-Z]{2}$/.test(region)) throw fieldError('region', 'Two letters, like US or MX.');
      const out = { region, sms: { transport: v.transport, from: v.from.trim(), gateway_url: v.gateway_url.trim(), account: v.account.trim(), device: v.device.trim() } };
      if (v.token) out.sms.token = v.token;
      const saved = await api('PUT', '/api/v1/settings', out);
      tokenSet = !!saved.sms_token_set;
      const tk = f.fields.token.input;
      tk.value = '';
      if (tokenSet) tk.setAttribute('placeholder', '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)');
      else tk.removeAttribute('placeholder');
      const hint = doc.getElementById('texts-token-hint');
      if (hint) hint.textContent = tokenHint();
      const m = okMessage('Text settings saved. Hearth starts the new transport within a few seconds.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
      refresh();
    },
  });

  const answer = h('div', { class: 'mail-answer', id: 'texttest-answer' });
  const t = makeForm('texttest', [
    { name: 'to', label: 'Send it to', type: 'tel', value: '', hint: 'A mobile number with its area code. The test uses the saved settings.' },
  ], {
    submit: 'Send a test text', submitClass: 'text-test-btn', label: 'Send a test text',
    // Every refusal is the transport's answer: show it in the answer box.
    onError(err) {
      if (err.field === 'to') return false;
      put(answer, h('div', { class: 'alert-box', role: 'alert' }, h('strong', null, 'The test text was not sent. '), err.message));
      refresh();
      return true;
    },
    async onSubmit(v) {
      put(answer);
      const to = v.to.trim();
      if (!/\d{7}/.test(to.replace(/\D/g, ''))) throw fieldError('to', 'Type a mobile number with its area code.');
      const r = await api('POST', '/api/v1/settings/test-text', { to });
      const m = h('p', { class: 'ok-msg', role: 'status', tabindex: '-1' }, (r && r.answer) || 'The text was handed over.');
      put(answer, m);
      m.focus();
      refresh();
    },
  });
  t.el.insertBefore(answer, t.el.querySelector('.form-msg'));

  return sectionCard('set-texts', 'Text messages', '',
    h('p', { class: 'muted' }, 'Texts carry the clinic\u2019s name and a link; a reminder also the day and time. Never a name, a reason or a message. Patients must agree first, and STOP ends them at once. No texts go between 8 pm and 8 am, except pages to the clinician on call.'),
    state, f.el, h('h3', { id: 'texttest-title' }, 'Send a test text'), t.el);
}

const stateWords = { queued: 'waiting', sending: 'sending', sent: 'sent', delivered: 'delivered', failed: 'failed' };
const kindWords = { reply: 'reply notice', reminder: 'reminder', signin: 'sign-in link', invite: 'invite', ack: 'acknowledgement',
  answer: 'answer to a reply', stop: 'STOP confirmation', start: 'START confirmation', help: 'HELP answer', notice: 'notice', page: 'on-call page' };

// outboxCard lists the newest emails and texts with their state.
export function outboxCard() {
  const body = h('div', { id: 'outbox-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const load = () => api('GET', '/api/v1/outbox').then((r) => {
    const rows = r.messages || [];
    if (!rows.length) { put(body, h('p', { class: 'muted' }, 'Nothing has been sent yet.')); return; }
    put(body, h('table', { class: 'outbox' },
      h('thead', null, h('tr', null, ['Made', 'Channel', 'What', 'State', 'Tries', 'Last error'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((m) => h('tr', { class: `outbox-${m.state}`, 'data-id': m.id },
        h('td', null, h('time', { datetime: m.created }, formatTime(m.created))),
        h('td', null, m.channel === 'sms' ? 'Text' : 'Email'),
        h('td', null, kindWords[m.kind] || m.kind || ''),
        h('td', null, m.held ? `held until ${formatTime(m.next_at)} (quiet hours)` : (stateWords[m.state] || m.state),
          m.delivered_at ? [' ', h('time', { datetime: m.delivered_at }, formatTime(m.delivered_at))] : null),
        h('td', null, String(m.attempts)),
        h('td', null, m.last_error || ''))))));
  }).catch((err) => { if (!err.handled) put(body, h('p', { class: 'err' }, `The outbox could not be read: ${err.message}`)); });
  load();
  const again = h('button', { type: 'button', id: 'outbox-refresh' }, 'Refresh');
  again.addEventListener('click', load);
  return sectionCard('set-outbox', 'Outbox: emails and texts', 'What Hearth sent or is about to send, newest first. Addresses and words stay sealed.', again, body);
}
