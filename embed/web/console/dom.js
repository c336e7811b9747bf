// DOM helpers: every node the console shows is built here with
// createElement, and every text goes in through textContent or
// setAttribute. Nothing is ever parsed as HTML, so a patient's name or a
// message cannot become markup or script.

import { ApiError } from './api.js';

export const doc = document;

// h builds an element. props: class, text, on<event> handlers, DOM
// properties (value, checked, disabled, hidden) and plain attributes.
// Children may be nodes, strings (added as text, never as HTML) or arrays.
export function h(tag, props, ...kids) {
  const el = doc.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(el, kids);
  return el;
}

// add appends children to el; put replaces them. Use these, not the
// native append/replaceChildren, which would print a missing child (null)
// as the text "null".
export function add(el, ...kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(typeof k === 'object' ? k : String(k));
  }
  return el;
}

export function put(el, ...kids) {
  el.replaceChildren();
  return add(el, ...kids);
}

export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// fieldError is a client-side error shaped like an API error.
export function fieldError(field, message) {
  return { field, message, code: 'invalid' };
}

// field builds a labelled control with its hint and its error slot.
// spec: {name, label, type, hint, value, options (for select), attrs}.
// ids are prefix-name, so tests and labels can find them.
export function field(prefix, spec) {
  const id = `${prefix}-${spec.name}`;
  const type = spec.type || 'text';
  const wrap = h('div', { class: type === 'checkbox' ? 'field check' : 'field' });
  const label = h('label', { for: id, id: id + '-label' }, spec.label);
  const hint = spec.hint ? h('p', { class: 'hint', id: id + '-hint' }, spec.hint) : null;
  let input;
  if (type === 'select') {
    input = h('select', { id, name: spec.name });
    for (const [v, t] of spec.options || []) add(input, h('option', { value: v }, t));
    if (spec.value !== undefined) input.value = spec.value;
  } else if (type === 'textarea') {
    input = h('textarea', { id, name: spec.name, rows: spec.rows || 3 });
    input.value = spec.value ?? '';
  } else {
    input = h('input', { id, name: spec.name, type, autocomplete: spec.autocomplete || 'off' });
    if (type === 'checkbox') input.checked = !!spec.value;
    else input.value = spec.value ?? '';
  }
  for (const [k, v] of Object.entries(spec.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) input.setAttribute(k, v === true ? '' : String(v));
  }
  if (type === 'checkbox') add(wrap, [input, label, hint]);
  else add(wrap, [label, hint, input]);

  let errEl = null;
  const describe = () => {
    const ids = [hint && hint.id, errEl && errEl.id].filter(Boolean).join(' ');
    if (ids) input.setAttribute('aria-describedby', ids);
    else input.removeAttribute('aria-describedby');
  };
  describe();
  const f = {
    wrap, input, name: spec.name,
    get value() {
      if (type === 'checkbox') return input.checked;
      return input.value;
    },
    setError(message) {
      f.clear();
      errEl = h('p', { class: 'err', id: id + '-err', role: 'alert' }, message);
      add(wrap, errEl);
      wrap.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      describe();
    },
    clear() {
      if (errEl) errEl.remove();
      errEl = null;
      wrap.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
      describe();
    },
  };
  return f;
}

// makeForm builds a form from field specs. A spec may also be
// {group: 'Legend', items: [...specs]} (a fieldset) or {node: Element}.
// onSubmit(values, form) may throw an ApiError or fieldError(): it is shown
// next to its field, or above the buttons when it names no field.
export function makeForm(prefix, specs, opts) {
  const fields = {};
  const el = h('form', { id: prefix, novalidate: true, class: opts.class, 'aria-label': opts.label });
  const build = (parent, list) => {
    for (const s of list) {
      if (!s) continue;
      if (s.node) { add(parent, s.node); continue; }
      if (s.group) {
        const fs = h('fieldset', null, h('legend', null, s.group));
        if (s.intro) add(fs, h('p', { class: 'hint' }, s.intro));
        build(fs, s.items);
        add(parent, fs);
        continue;
      }
      const f = field(prefix, s);
      fields[s.name] = f;
      add(parent, f.wrap);
    }
  };
  build(el, specs);
  const msg = h('div', { class: 'form-msg', id: prefix + '-msg' });
  const btn = h('button', { type: 'submit', class: opts.submitClass || 'primary', id: prefix + '-submit' }, opts.submit);
  el.append(msg, h('div', { class: 'actions' }, btn, opts.secondary));
  let busy = false;

  const form = {
    el, fields, btn,
    values() {
      const o = {};
      for (const [k, f] of Object.entries(fields)) o[k] = f.value;
      return o;
    },
    clearErrors() {
      for (const f of Object.values(fields)) f.clear();
      put(msg);
    },
    error(err) {
      if (!err || err.handled) return;
      if (opts.onError && opts.onError(err)) return;
      const f = err.field && fields[err.field];
      if (f) {
        f.setError(err.message);
        f.input.focus();
      } else {
        put(msg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    },
    // run does fn(values) with the form marked busy and its errors shown.
    // The submit button is never disabled (that would drop keyboard focus);
    // a second press while busy is ignored instead.
    async run(fn) {
      if (busy) return;
      busy = true;
      form.clearErrors();
      el.setAttribute('aria-busy', 'true');
      btn.setAttribute('aria-disabled', 'true');
      try {
        await fn(form.values(), form);
      } catch (err) {
        if (!(err instanceof ApiError) && !(err && err.field !== undefined)) {
          console.error(err);
          err = { message: 'Something went wrong in the console. Reload the page and try again.' };
        }
        form.error(err);
      } finally {
        busy = false;
        el.removeAttribute('aria-busy');
        btn.removeAttribute('aria-disabled');
      }
    },
  };
  el.addEventListener('submit', (e) => {
    e.preventDefault();
    form.run(opts.onSubmit);
  });
  return form;
}

// okMessage is a success message that screen readers hear: it is focused.
export function okMessage(text) {
  return h('p', { class: 'ok-msg', role: 'status', tabindex: '-1' }, text);
}

export function errorBox(text) {
  return h('div', { class: 'alert-box', role: 'alert' }, text);
}

export function viewHead(title, ...actions) {
  return h('div', { class: 'view-head' },
    h('h1', { tabindex: '-1' }, title),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

// lockIcon draws a padlock (SVG nodes, so it needs no icon font).
export function lockIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs) => {
    const n = doc.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  const svg = el('svg', { viewBox: '0 0 24 24', width: '26', height: '26', 'aria-hidden': 'true', focusable: 'false' });
  svg.append(
    el('path', { d: 'M8 11V8a4 4 0 0 1 8 0v3', fill: 'none', stroke: 'currentColor', 'stroke-width': '2.2', 'stroke-linecap': 'round' }),
    el('rect', { x: '5', y: '11', width: '14', height: '10', rx: '2.5', fill: 'currentColor' }));
  return svg;
}

export function backLink(href, text) {
  return h('a', { class: 'back', href }, h('span', { 'aria-hidden': 'true' }, '←'), text);
}

// --- Icons (SVG paths, so no icon font and no emoji font is needed)

const iconPaths = {
  message: ['M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z', 'M3.5 6.5 12 13l8.5-6.5'],
  refill: ['M10.5 20.5a4.95 4.95 0 0 1-7-7l6-6a4.95 4.95 0 0 1 7 7z', 'M8.5 8.5l7 7'],
  appointment: ['M5 5h14a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z', 'M3 10h18', 'M8 3v4', 'M16 3v4'],
  callback: ['M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.9.7 2.8a2 2 0 0 1-.5 2.1L8.1 9.9a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.9.6 2.8.7a2 2 0 0 1 1.7 2z'],
  billing: ['M12 2v20', 'M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6'],
  records: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M8 13h8', 'M8 17h8'],
  key: ['M7.5 10a5.5 5.5 0 1 1 0 11 5.5 5.5 0 0 1 0-11z', 'M11.4 11.6 21 2', 'M15.5 7.5l3 3L22 7l-3-3'],
  reply: ['M9 17l-5-5 5-5', 'M4 12h11a5 5 0 0 1 5 5v2'],
  alert: ['M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z', 'M12 9v4', 'M12 17h.01'],
  clock: ['M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18z', 'M12 7v5l3 2'],
  bell: ['M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9', 'M10.3 21a1.9 1.9 0 0 0 3.4 0'],
  sound: ['M11 5 6 9H2v6h4l5 4z', 'M15.5 8.5a5 5 0 0 1 0 7', 'M19 5a10 10 0 0 1 0 14'],
  mute: ['M11 5 6 9H2v6h4l5 4z', 'M22 9l-6 6', 'M16 9l6 6'],
  note: ['M12 20h9', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z'],
  user: ['M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M4 21a8 8 0 0 1 16 0'],
  check: ['M20 6 9 17l-5-5'],
  eye: ['M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z', 'M12 9a3 3 0 1 1 0 6 3 3 0 0 1 0-6z'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  inbox: ['M22 12h-6l-2 3h-4l-2-3H2', 'M5.5 5h13L22 12v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2v-6z'],
  chart: ['M3 3v18h18', 'M7.5 16v-4', 'M12 16V8', 'M16.5 16v-6'],
  users: ['M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2', 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M22 21v-2a4 4 0 0 0-3-3.9', 'M16 3.1a4 4 0 0 1 0 7.8'],
  badge: ['M16 7V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v2', 'M4 7h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z', 'M3 13h18'],
  shield: ['M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z', 'M9 12l2 2 4-4'],
  sliders: ['M4 21v-7', 'M4 10V3', 'M12 21v-9', 'M12 8V3', 'M20 21v-5', 'M20 12V3', 'M1 14h6', 'M9 8h6', 'M17 16h6'],
};

export function icon(name, size = 18) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = doc.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: size, height: size, 'aria-hidden': 'true', focusable: 'false',
    fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', class: 'icon' })) {
    svg.setAttribute(k, String(v));
  }
  for (const d of iconPaths[name] || []) {
    const p = doc.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

export function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}
