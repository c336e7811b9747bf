// Settings (owner), HTTPS certificate: the internet name Hearth gets its
// own certificate for, and that certificate's state (issuer, names,
// expiry, the last attempt and what went wrong, in plain words). A
// self-contained section: httpsCard(settings, status) where status is the
// answer of /api/v1/backup/status (its `certificate`, when Hearth manages
// one).

import { api } from './api.js';
import { h, makeForm, okMessage } from './dom.js';
import { formatTime } from './format.js';
import { sectionCard } from './settings_work.js';

const stateWords = {
  ok: 'Working: patients reach Hearth over HTTPS with this certificate, and Hearth renews it by itself.',
  obtaining: 'Getting the certificate from the certificate authority. This takes a minute or two.',
  failing: 'Hearth cannot get or renew the certificate. It keeps trying by itself; fix what is said below.',
  expiring: 'The certificate ends soon and renewing it keeps failing. Fix what is said below before it ends, or patients will not be able to open Hearth.',
};

function certStatus(cert) {
  if (!cert) {
    return h('p', { id: 'cert-state', class: 'muted' }, 'Hearth is not getting a certificate by itself now (no internet name was given when it started, or it uses a certificate file of yours).');
  }
  const when = (t) => (t ? h('time', { datetime: t }, formatTime(t)) : 'never');
  const bad = cert.state === 'failing' || cert.state === 'expiring';
  return h('div', { id: 'cert-state' },
    h(bad ? 'div' : 'p', bad ? { class: 'alert-box', role: 'alert' } : null, stateWords[cert.state] || cert.state),
    h('dl', { class: 'facts' },
      h('dt', null, 'Name'), h('dd', null, (cert.names && cert.names.length ? cert.names : [cert.domain]).join(', ')),
      h('dt', null, 'Issued by'), h('dd', null, cert.issuer || 'no certificate yet'),
      h('dt', null, 'Valid until'), h('dd', null, cert.not_after ? when(cert.not_after) : 'no certificate yet'),
      h('dt', null, 'Last attempt'), h('dd', null, when(cert.last_attempt)),
      h('dt', null, 'Last success'), h('dd', null, when(cert.last_success))),
    cert.error ? h('p', { id: 'cert-error', class: 'err' }, h('strong', null, 'What went wrong: '), cert.error) : null);
}

export function httpsCard(s, status) {
  const f = makeForm('https', [
    { name: 'domain', label: 'Internet name for patients', value: s.domain || '',
      hint: 'Like portal.maple-clinic.com. Hearth gets and renews its own HTTPS certificate for it (from Let\u2019s Encrypt), from its next start (a service installed without it: run install.sh --domain with this name once). Its DNS record must point at this office\u2019s internet address and the router must forward ports 80 and 443 to this computer (docs/OPERATIONS.md, \u201cHTTPS by itself\u201d). Leave empty if patients use the office network only, or if you have a certificate of your own.',
      attrs: { spellcheck: 'false', autocomplete: 'off', maxlength: 253 } },
  ], {
    submit: 'Save', label: 'HTTPS certificate',
    async onSubmit(v) {
      await api('PUT', '/api/v1/settings', { domain: v.domain.trim() });
      const m = okMessage('Saved. Hearth uses this name from its next start.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-https', 'HTTPS certificate', '', certStatus(status && !status.failed ? status.certificate : null), f.el);
}
