// What the whole console shares: the page's root element, the session
// state, the idle clock, and memory (what views keep between visits).

export const root = document.getElementById('app');

export const state = {
  clinic: (root && root.dataset.clinic) || 'Hearth',
  mode: 'boot',     // boot | signin | setup | shell | locked | problem
  csrf: '',
  me: null,         // the GET /api/v1/session answer
  pendingPassword: '', // a temporary password just typed at sign-in, for the change-password gate
  pinBlocked: false,
  lockPending: null,
  shell: null,
  viewEpoch: 0,
  hooks: {},        // the view on screen: event, presence, reopen, key, leave
  titleBase: '',    // the page title without the alert count
  unseen: 0,        // new-item alerts since the person last looked at the inbox
};

// memory is what views keep between visits (a search, a one-time message).
// It is thrown away whenever the person at the screen may change.
export let memory = {};

// clearMemory throws memory away (only this module may assign it).
export function clearMemory() {
  memory = {};
}

// idle: the idle lock's clock (lock.js). last is the person's last
// keyboard, pointer or touch input; contact the last answer from Hearth.
export const idle = { minutes: 15, last: Date.now(), contact: 0 };
