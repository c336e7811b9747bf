// Staff accounts (owner): add, change role, set the name patients see,
// reset password, disable.

import { api } from './api.js';
import { add, errorBox, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { roleName, roleOptions } from './format.js';

// --- Staff (owner)

export function viewStaff(c, ctx) {
  const addBtn = h('button', { type: 'button', class: 'primary', id: 'staff-add-toggle', 'aria-expanded': 'false', 'aria-controls': 'staff-add' }, '+ Add staff member');
  const addPanel = h('section', { class: 'card wide', id: 'staff-add', hidden: true, 'aria-labelledby': 'staff-add-title' });
  const status = h('div', { id: 'staff-status' });
  const list = h('div', { id: 'staff-list' }, h('p', { class: 'muted' }, 'Loading…'));
  let open = ''; // the id whose Manage panel is open
  add(c, viewHead('Staff', addBtn),
    h('p', { class: 'intro' }, 'Everyone who can sign in to this console. The role decides what each person can see and do.'),
    status, addPanel, list);
  addBtn.addEventListener('click', () => toggleAdd(addPanel.hidden));

  function toggleAdd(show) {
    addPanel.hidden = !show;
    addBtn.setAttribute('aria-expanded', String(show));
    if (!show) { put(addPanel); addBtn.focus(); return; }
    const f = makeForm('staffnew', [
      { name: 'name', label: 'Full name', attrs: { maxlength: 100 } },
      { name: 'email', label: 'Email (they sign in with it)', type: 'email', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'role', label: 'Role', type: 'select', options: roleOptions, value: 'frontdesk',
        hint: 'Front desk: patients and scheduling. Clinician: also clinical items. Owner: everything, including staff, settings and the audit log.' },
      { name: 'password', label: 'First password', type: 'text', autocomplete: 'off',
        hint: 'At least 10 characters. Give it to them in person; they can change it under My account.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ], {
      submit: 'Add staff member', label: 'Add a staff member',
      secondary: h('button', { type: 'button', onclick: () => toggleAdd(false) }, 'Cancel'),
      async onSubmit(v) {
        const st = await api('POST', '/api/v1/staff', v);
        if (!ctx.alive()) return;
        toggleAdd(false);
        const m = okMessage(`${st.name} was added as ${roleName(st.role)} and can sign in now.`);
        put(status, m);
        await load();
        m.focus();
      },
    });
    put(addPanel, h('h2', { id: 'staff-add-title' }, 'Add a staff member'), f.el);
    f.fields.name.input.focus();
  }

  async function load(message) {
    let r;
    try {
      r = await api('GET', '/api/v1/staff');
    } catch (err) {
      if (ctx.alive() && !err.handled) put(list, errorBox(err.message));
      return;
    }
    if (!ctx.alive()) return;
    const rows = [];
    let focusMsg = null;
    for (const st of r.staff || []) {
      const panelId = `manage-${st.id}`;
      const isOpen = st.id === open;
      const btn = h('button', { type: 'button', class: 'small', id: `manage-btn-${st.id}`, 'aria-expanded': String(isOpen), 'aria-controls': panelId }, 'Manage',
        h('span', { class: 'vh' }, ` ${st.name}`));
      const badges = [];
      if (st.disabled) badges.push(h('span', { class: 'badge bad' }, 'Disabled'));
      else badges.push(h('span', { class: 'badge on' }, 'Active'));
      if (st.must_change_password) badges.push(' ', h('span', { class: 'badge warn' }, 'Must change password'));
      rows.push(h('tr', { id: `staff-${st.id}` },
        h('td', null, h('strong', null, st.name), st.email ? h('span', { class: 'sub' }, st.email) : null),
        h('td', null, roleName(st.role)),
        h('td', null, st.totp_enabled ? h('span', { class: 'badge on' }, 'On') : h('span', { class: 'badge' }, 'Off')),
        h('td', null, badges),
        h('td', null, btn)));
      const panelRow = h('tr', { class: 'manage-row', hidden: !isOpen },
        h('td', { colspan: 5, id: panelId }, isOpen ? managePanel(st, isOpen && message) : null));
      btn.addEventListener('click', () => {
        const show = panelRow.hidden;
        panelRow.hidden = !show;
        btn.setAttribute('aria-expanded', String(show));
        open = show ? st.id : (open === st.id ? '' : open);
        const td = panelRow.firstChild;
        if (show && !td.firstChild) add(td, managePanel(st, ''));
      });
      rows.push(panelRow);
      if (isOpen && message) focusMsg = panelRow.querySelector('.ok-msg');
    }
    put(list, h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'staff-table' },
      h('caption', { class: 'vh' }, 'Staff accounts'),
      h('thead', null, h('tr', null, ['Name', 'Role', 'Two-step sign-in', 'Status', ''].map((t, i) =>
        h('th', { scope: 'col' }, t || h('span', { class: 'vh' }, i === 4 ? 'Actions' : ''))))),
      h('tbody', null, rows))));
    if (focusMsg) focusMsg.focus();
  }

  // managePanel holds one person's actions. After each, the list reloads
  // with this panel open and its message focused (so it is heard).
  function managePanel(st, message) {
    const p = `m-${st.id}`;
    const done = async (text) => { open = st.id; await load(text); };
    const roleForm = makeForm(`${p}-role`, [
      { name: 'role', label: `Role of ${st.name}`, type: 'select', options: roleOptions, value: st.role },
    ], {
      submit: 'Change role', submitClass: 'small', label: 'Change role',
      async onSubmit(v) {
        if (v.role === st.role) throw fieldError('role', `${st.name} already has this role.`);
        await api('PATCH', `/api/v1/staff/${encodeURIComponent(st.id)}`, { role: v.role });
        await done(`${st.name} is now ${roleName(v.role)}. They were signed out and see the new role at their next sign-in.`);
      },
    });
    const shownForm = makeForm(`${p}-shown`, [
      { name: 'display_name', label: 'Name patients see', value: st.display_name || '',
        hint: `How ${st.name} signs replies, templates and call attempts. Leave it empty for the usual: ${st.signs_as}.`,
        attrs: { maxlength: 60, placeholder: st.signs_as } },
    ], {
      submit: 'Save name', submitClass: 'small', label: 'Name patients see',
      async onSubmit(v) {
        const r = await api('PATCH', `/api/v1/staff/${encodeURIComponent(st.id)}`, { display_name: v.display_name });
        await done(`Patients now see ${st.name} as ${r.signs_as}.`);
      },
    });
    const resetForm = makeForm(`${p}-reset`, [
      { name: 'password', label: 'Temporary password', type: 'text', autocomplete: 'off',
        hint: 'At least 10 characters. Tell it to them in person.', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ], {
      submit: 'Set temporary password', submitClass: 'small', label: 'Reset password',
      async onSubmit(v) {
        if (!v.password) throw fieldError('password', 'Type a temporary password for them.');
        await api('POST', `/api/v1/staff/${encodeURIComponent(st.id)}/reset-password`, { password: v.password });
        await done(`Temporary password set. ${st.name} was signed out and must choose a new password at their next sign-in.`);
      },
    });
    const accessMsg = h('div', { class: 'form-msg' });
    const toggleDisabled = async () => {
      const disable = !st.disabled;
      if (disable && !window.confirm(`Disable ${st.name}'s account? They are signed out at once and cannot sign in until it is enabled again.`)) return;
      try {
        await api('PATCH', `/api/v1/staff/${encodeURIComponent(st.id)}`, { disabled: disable });
        await done(disable ? `${st.name}'s account is disabled.` : `${st.name}'s account is enabled again.`);
      } catch (err) {
        if (!err.handled) put(accessMsg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    };
    const totpMsg = h('div', { class: 'form-msg' });
    const totpOff = async () => {
      if (!window.confirm(`Turn off two-step sign-in for ${st.name}? They sign in with their password alone until they turn it on again.`)) return;
      try {
        await api('DELETE', `/api/v1/staff/${encodeURIComponent(st.id)}/totp`);
        await done(`Two-step sign-in is off for ${st.name}.`);
      } catch (err) {
        if (!err.handled) put(totpMsg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    };
    return h('div', null,
      message ? okMessage(message) : null,
      h('div', { class: 'manage' },
        h('section', { 'aria-label': 'Role' }, h('h3', null, 'Role'),
          h('p', { class: 'muted' }, 'Changing the role signs them out.'), roleForm.el),
        h('section', { 'aria-label': 'Name patients see' }, h('h3', null, 'Name patients see'), shownForm.el),
        h('section', { 'aria-label': 'Password' }, h('h3', null, 'Reset password'),
          h('p', { class: 'muted' }, 'For a forgotten password. They must choose their own at the next sign-in.'), resetForm.el),
        h('section', { 'aria-label': 'Account' }, h('h3', null, 'Account'),
          h('p', null, st.disabled ? 'Disabled: cannot sign in.' : 'Active: can sign in.'), accessMsg,
          h('button', { type: 'button', class: st.disabled ? 'small' : 'small danger', onclick: toggleDisabled },
            st.disabled ? 'Enable account' : 'Disable account')),
        h('section', { 'aria-label': 'Two-step sign-in' }, h('h3', null, 'Two-step sign-in'),
          h('p', null, st.totp_enabled ? 'On. Turn it off only for someone who lost their phone and recovery codes.' : 'Off. They can turn it on under My account.'),
          totpMsg,
          st.totp_enabled ? h('button', { type: 'button', class: 'small danger', onclick: totpOff }, 'Turn off two-step sign-in') : null)));
  }

  load();
  return null;
}
