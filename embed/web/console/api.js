// The staff API client: api() and ApiError. What a locked or ended session
// does to the whole console is decided by session.js, which registers
// itself with onSessionProblem.

import { idle, state } from './state.js';

// problemHandler is told of every error a non-quiet call gets, so a locked
// or ended session moves the whole console (session.js sets it).
let problemHandler = () => {};

export function onSessionProblem(fn) {
  problemHandler = fn;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `Hearth answered with an error (${status}). Please try again.`);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.field = (body && body.field) || '';
    // body: the whole answer (an import refused with 422 lists its rows).
    this.body = body || null;
    // handled: the console already acted on it (lock screen, sign-in).
    this.handled = false;
  }
}

// api calls the staff API. opt.quiet skips the global handling of locked,
// ended and not-yet-set-up sessions (the caller deals with them).
export async function api(method, path, body, opt = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = state.csrf;
  // A refresh the page makes by itself (a live event) is not the person
  // being active: the server's idle lock must still run.
  if (opt.background) headers['X-Hearth-Background'] = '1';
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'network', error: 'Hearth could not be reached. Check the network connection and try again.' });
  }
  idle.contact = Date.now();
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (!opt.quiet) problemHandler(err);
  throw err;
}
