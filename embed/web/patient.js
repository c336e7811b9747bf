// Hearth patient pages: small, optional polish. Every page works without it.
//
// A form is sent once: on a weak signal a second tap would otherwise send
// the same request twice.
document.addEventListener('submit', (e) => {
  const f = e.target;
  if (f.dataset.sent) {
    e.preventDefault();
    return;
  }
  f.dataset.sent = '1';
  f.querySelectorAll('button').forEach((b) => b.setAttribute('aria-disabled', 'true'));
});
// Coming back to a page (the back button) makes its forms usable again.
addEventListener('pageshow', () => {
  document.querySelectorAll('form[data-sent]').forEach((f) => {
    delete f.dataset.sent;
    f.querySelectorAll('button').forEach((b) => b.removeAttribute('aria-disabled'));
  });
});

// Urgent wording, while typing: the same lists the clinic uses show the
// emergency guidance before the message is sent. (Without JavaScript it
// shows on the acknowledgement instead.)
(() => {
  const box = document.getElementById('urgent-live');
  if (!box) return;
  const fields = Array.from(document.querySelectorAll('form textarea, form input[type="text"]'));
  if (!fields.length) return;
  // Self-harm wording also shows the crisis line, when the clinic has one.
  const crisis = document.getElementById('urgent-crisis');
  let phrases = null;
  let selfHarm = [];
  fetch('/urgent-words.json', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((d) => {
      phrases = d && Array.isArray(d.phrases) ? d.phrases : null;
      selfHarm = d && Array.isArray(d.self_harm) ? d.self_harm : [];
      check();
    })
    .catch(() => {});
  // The same folding the server does: accents off, lower case,
  // apostrophes dropped, everything else that is not a letter or digit a space.
  const fold = (s) => ' ' + s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/['`\u2018\u2019\u201B\u02BC\u02B9\u00B4\u2032\uFF07]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ').trim() + ' ';
  let timer = 0;
  function check() {
    if (!phrases) return;
    const text = fold(fields.map((f) => f.value).join(' \n '));
    box.hidden = !phrases.some((p) => text.includes(p));
    if (crisis) crisis.hidden = !selfHarm.some((p) => text.includes(p));
  }
  fields.forEach((f) => f.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(check, 250); }));
})();
