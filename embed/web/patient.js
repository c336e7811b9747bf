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
