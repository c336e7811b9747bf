// Hearth staff console: the entry module.
//
// Plain ES modules, no build step, no framework: `go build` is the whole
// build. Every file is served under one build-wide hash (/s/HASH/...), so
// the modules import each other by relative path and a page never mixes
// files of two builds. The console talks only to the staff JSON API
// (app/web/routes.go); the clinic's domain tables (types, statuses,
// outcomes, fields) come from it too (meta.js), never from a copy here.
//
// Safety rules every module keeps:
//   * Every node is made with createElement and every text goes in through
//     textContent or setAttribute (see h() in dom.js). Nothing is ever
//     parsed as HTML, so a patient's name or a message cannot become markup
//     or script.
//   * No inline styles or scripts (the CSP forbids them): classes only.
//   * Every state change sends the session's CSRF token.
//   * Locking or switching user removes the app from the DOM, not just
//     covers it; switching or signing out forgets everything in memory.
//   * Only a person's keyboard, pointer or touch counts as activity for the
//     idle lock. Never call activity() from network, websocket or timer code.
//
// Modules:
//   dom.js            DOM helpers: h(), field(), makeForm(), icons
//   api.js            api(), ApiError
//   state.js          the session state, the idle clock, memory
//   format.js         dates, times, spans, roles, languages
//   words.js          words for domain values; type and urgency badges
//   meta.js           the domain tables, from GET /api/v1/meta
//   screen.js         whole screens: setScreen, forget, the top bar
//   session.js        sign-in, sign-out, switch user, Hearth unlock (sealed
//                     mode), the account setup gate
//   lock.js           the lock screen and the idle lock
//   live.js           one websocket, reconnect with catch-up, alerts (sound,
//                     title count, desktop notifications), banners
//   storage.js        the banner while the disk is full or refuses writes
//   shell.js          the nav, the `views` table, routing, shortcuts
//   team.js           queue names, the staff list, assign menus
//   inbox.js          the inbox
//   item.js           one request; item_side.js its side panel
//   board.js          appointments; board_import.js the practice-system import
//   sweep.js, workload.js, patients.js, staff.js, audit.js, account.js
//   settings.js       settings; settings_work.js hours, targets, queues,
//                     templates
//   write.js          Write to a patient; notices.js notices and reports;
//                     oncall.js the on-call rota; outreach_item.js read
//                     receipts and the on-call page on a request
//
// A view may set hooks on state.hooks while it is on screen: event(e) for
// live item events, presence(p) for colleagues' presence frames, reopen()
// after the websocket reconnects, key(e) for its keyboard shortcuts and
// leave() when it goes away. route() clears them.

import { enter } from './session.js';
import { route } from './shell.js';
import { root } from './state.js';

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason && e.reason.handled) e.preventDefault();
});
if (root) enter();
