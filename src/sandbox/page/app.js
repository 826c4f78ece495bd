// The sandbox page: a Slack-like channel view fed by /api/state and /api/events (SSE).
// Message and modal HTML comes rendered (and escaped) by the server's Block Kit renderer;
// this script only places it, wires the interactive elements and talks the JSON protocol.

/** @typedef {{ channel: string, ts: string, thread_ts?: string, html: string }} Msg */
/** @typedef {{ id: string, html: string, version: number }} View */

const state = {
  /** @type {{ id: string, name: string }[]} */
  channels: [],
  /** @type {{ id: string, name: string } | null} */
  me: null,
  /** The people the page may act as (the user switcher). @type {{ id: string, name: string }[]} */
  users: [],
  /** Who the page acts as; null: the sandbox's default person. @type {string | null} */
  as: null,
  /** The App Home of that person, rendered by the server. */
  home: '',
  /** The main pane shows a channel or the App Home. @type {'channel' | 'home'} */
  pane: 'channel',
  /** @type {string | null} */
  current: null,
  /** channel id → (ts → message) @type {Map<string, Map<string, Msg>>} */
  messages: new Map(),
  /** Open views, bottom first; only the top one is in the DOM. @type {View[]} */
  views: [],
  /** @type {Map<string, number>} */
  unread: new Map(),
  viewVersion: 0,
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const els = {
  channels: $('channel-list'),
  title: $('channel-title'),
  messages: $('messages'),
  composerForm: /** @type {HTMLFormElement} */ ($('composer-form')),
  composer: /** @type {HTMLInputElement} */ ($('composer')),
  composerError: $('composer-error'),
  modalOverlay: $('modal-overlay'),
  modalSlot: $('modal-slot'),
  confirmOverlay: $('confirm-overlay'),
  confirmTitle: $('confirm-title'),
  confirmText: $('confirm-text'),
  confirmOk: /** @type {HTMLButtonElement} */ ($('confirm-ok')),
  confirmDeny: /** @type {HTMLButtonElement} */ ($('confirm-deny')),
  me: $('me'),
  conn: $('conn'),
  homeLink: /** @type {HTMLButtonElement} */ ($('home-link')),
  homePane: $('home-pane'),
  userSwitch: /** @type {HTMLSelectElement} */ ($('user-switch')),
};

// ---------------------------------------------------------------------------------------------
// Server

/** Every answer is JSON; a non-JSON or failed response becomes `{ok:false, error}`. */
async function api(path, body) {
  // Every request acts as the person chosen in the switcher.
  if (body !== undefined && state.as) body = { ...body, user: state.as };
  else if (body === undefined && state.as) path += `${path.includes('?') ? '&' : '?'}user=${encodeURIComponent(state.as)}`;
  try {
    const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (data && typeof data === 'object') return data;
    return { ok: false, error: `HTTP ${res.status}` };
  } catch (e) {
    return { ok: false, error: `network error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Events that arrive while the state is loading wait, so the snapshot cannot overwrite them. */
let loading = false;
/** @type {[string, any][]} */
let pending = [];

async function loadState() {
  loading = true;
  const data = await api('/api/state');
  loading = false;
  if (data && Array.isArray(data.channels)) applyState(data);
  else showError(`Could not load the sandbox state: ${data?.error ?? 'unknown error'}`);
  const queued = pending;
  pending = [];
  for (const [type, payload] of queued) applyEvent(type, payload);
}

function applyState(data) {
  state.channels = data.channels.filter((c) => c && typeof c.id === 'string').map((c) => ({ id: c.id, name: String(c.name ?? c.id) }));
  state.me = data.me ?? null;
  state.users = Array.isArray(data.users)
    ? data.users.filter((u) => u && typeof u.id === 'string').map((u) => ({ id: u.id, name: String(u.name ?? u.id) }))
    : [];
  state.home = typeof data.home?.html === 'string' ? data.home.html : '';
  state.messages = new Map();
  for (const m of data.messages ?? []) storeMessage(m);
  const previous = new Map(state.views.map((v) => [v.id, v]));
  state.views = (data.views ?? [])
    .filter((v) => v && typeof v.id === 'string')
    .map((v) => {
      const old = previous.get(v.id);
      return old && old.html === v.html ? old : { id: v.id, html: String(v.html), version: ++state.viewVersion };
    });
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (fromHash === 'home') state.pane = 'home';
  if (!state.current || !state.channels.some((c) => c.id === state.current)) {
    state.current = state.channels.some((c) => c.id === fromHash) ? fromHash : (state.channels[0]?.id ?? null);
  }
  els.me.textContent = state.me ? `Signed in as ${state.me.name}` : '';
  renderUserSwitch();
  renderSidebar();
  renderPane(true);
  renderHome();
  renderTopView();
}

/** @type {EventSource | null} */
let source = null;

function connect() {
  const es = new EventSource(state.as ? `/api/events?user=${encodeURIComponent(state.as)}` : '/api/events');
  source = es;
  // The first open loads the state; every reconnect reloads it, for what was missed meanwhile.
  es.addEventListener('open', () => {
    setConnected(true);
    // Slack sends app_home_opened each time the Home is shown: here, on every (re)load of it too.
    void loadState().then(() => {
      if (state.pane === 'home') void openHome();
    });
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    setConnected(false);
    // EventSource retries by itself unless the server refused the stream outright.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  });
  for (const type of ['message', 'message_deleted', 'view', 'view_closed', 'home']) {
    es.addEventListener(type, (e) => {
      let payload;
      try {
        payload = JSON.parse(/** @type {MessageEvent} */ (e).data);
      } catch {
        return;
      }
      if (source !== es) return;
      if (loading) pending.push([type, payload]);
      else applyEvent(type, payload);
    });
  }
}

function setConnected(up) {
  els.conn.textContent = up ? '' : 'Reconnecting…';
  els.conn.classList.toggle('down', !up);
}

function applyEvent(type, p) {
  if (!p || typeof p !== 'object') return;
  if (type === 'message' && typeof p.channel === 'string' && typeof p.ts === 'string') {
    const isNew = !state.messages.get(p.channel)?.has(p.ts);
    storeMessage(p);
    if (!state.channels.some((c) => c.id === p.channel)) state.channels.push({ id: p.channel, name: p.channel });
    if (p.channel === state.current) renderPane(isNew);
    else if (isNew) state.unread.set(p.channel, (state.unread.get(p.channel) ?? 0) + 1);
    renderSidebar();
  } else if (type === 'message_deleted') {
    state.messages.get(p.channel)?.delete(p.ts);
    if (p.channel === state.current) renderPane(false);
  } else if (type === 'view' && typeof p.id === 'string') {
    const view = { id: p.id, html: String(p.html), version: ++state.viewVersion };
    const at = state.views.findIndex((v) => v.id === p.id);
    if (at >= 0) state.views[at] = view;
    else state.views.push(view);
    renderTopView();
  } else if (type === 'view_closed') {
    removeView(p.id);
  } else if (type === 'home' && typeof p.html === 'string') {
    state.home = p.html;
    renderHome();
  }
}

function storeMessage(m) {
  if (!m || typeof m.channel !== 'string' || typeof m.ts !== 'string') return;
  let channel = state.messages.get(m.channel);
  if (!channel) state.messages.set(m.channel, (channel = new Map()));
  channel.set(m.ts, { channel: m.channel, ts: m.ts, thread_ts: typeof m.thread_ts === 'string' ? m.thread_ts : undefined, html: String(m.html ?? '') });
}

// ---------------------------------------------------------------------------------------------
// Channels and messages

function renderSidebar() {
  els.channels.replaceChildren(
    ...state.channels.map((c) => {
      const li = document.createElement('li');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'channel';
      btn.dataset.testid = 'channel-' + c.id;
      btn.dataset.channel = c.id;
      btn.textContent = `# ${c.name.replace(/^#/, '')}`;
      if (c.id === state.current && state.pane === 'channel') btn.setAttribute('aria-current', 'true');
      const unread = state.unread.get(c.id) ?? 0;
      if (unread) {
        btn.classList.add('has-unread');
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = String(unread);
        badge.setAttribute('aria-label', `${unread} new`);
        btn.append(badge);
      }
      li.append(btn);
      return li;
    }),
  );
  if (state.pane === 'home') els.homeLink.setAttribute('aria-current', 'true');
  else els.homeLink.removeAttribute('aria-current');
  const current = state.channels.find((c) => c.id === state.current);
  const name = current ? current.name.replace(/^#/, '') : '';
  els.title.textContent = state.pane === 'home' ? 'Home' : current ? `# ${name}` : 'No channel';
  els.messages.hidden = state.pane === 'home';
  els.composerForm.hidden = state.pane === 'home';
  els.homePane.hidden = state.pane !== 'home';
  els.composer.setAttribute('aria-label', current ? `Message #${name}` : 'Message');
}

function selectChannel(id) {
  if (id === state.current && state.pane === 'channel') return;
  state.pane = 'channel';
  state.current = id;
  state.unread.delete(id);
  history.replaceState(null, '', `#${encodeURIComponent(id)}`);
  els.messages.replaceChildren();
  renderSidebar();
  renderPane(true);
  els.composer.focus();
}

/**
 * The App Home tab: opening it is what makes Slack send app_home_opened, and the bot publish the
 * Home (views.publish) for this person; it shows here when the emulator has it.
 */
function selectHome() {
  state.pane = 'home';
  history.replaceState(null, '', '#home');
  renderSidebar();
  renderHome();
  void openHome();
}

async function openHome() {
  const res = await api('/api/home/open', {});
  if (!res.ok) showHomeError(res.error ?? 'Opening the Home failed.');
}

function showHomeError(message) {
  const p = document.createElement('p');
  p.className = 'composer-error';
  p.setAttribute('role', 'alert');
  p.textContent = String(message);
  els.homePane.prepend(p);
}

function renderHome() {
  if (state.pane !== 'home') return;
  if (renderedHtml.get(els.homePane) === state.home) return;
  els.homePane.innerHTML = state.home || '<p class="empty">Loading the Home…</p>';
  renderedHtml.set(els.homePane, state.home);
  localizeTimes(els.homePane);
}

function renderUserSwitch() {
  const current = state.me?.id ?? '';
  els.userSwitch.replaceChildren(
    ...state.users.map((u) => {
      const o = document.createElement('option');
      o.value = u.id;
      o.textContent = u.name;
      o.selected = u.id === current;
      return o;
    }),
  );
  els.userSwitch.disabled = state.users.length < 2;
}

/** Acting as someone else: their view of the workspace (their ephemeral messages, their Home), from scratch. */
function switchUser(id) {
  if (!id || id === state.me?.id) return;
  state.as = id;
  state.messages = new Map();
  state.unread = new Map();
  state.home = '';
  renderedHtml.delete(els.homePane);
  els.messages.replaceChildren();
  clearError();
  source?.close();
  // The new stream's first open reloads the state, and opens the Home again if it is shown.
  connect();
}

/** A Slack permalink (…/archives/C…/p1700000000000100): the page goes to that message instead of leaving. */
function followPermalink(a, e) {
  const m = /\/archives\/([CDG][A-Z0-9]+)\/p(\d{10})(\d{6})/.exec(a.getAttribute('href') ?? '');
  if (!m || !state.channels.some((c) => c.id === m[1])) return;
  e.preventDefault();
  const ts = `${m[2]}.${m[3]}`;
  selectChannel(m[1]);
  const row = [...els.messages.querySelectorAll(':scope > .msg-row')].find((r) => /** @type {HTMLElement} */ (r).dataset.key === ts);
  if (row) {
    row.scrollIntoView({ block: 'center' });
    row.classList.add('highlight');
    setTimeout(() => row.classList.remove('highlight'), 2000);
  }
}

/** Slack timestamps are "seconds.micros": compared as two integers, floats would lose digits. */
function compareTs(a, b) {
  const [as = '0', af = ''] = a.split('.');
  const [bs = '0', bf = ''] = b.split('.');
  return Number(as) - Number(bs) || (af.padEnd(6, '0') < bf.padEnd(6, '0') ? -1 : af.padEnd(6, '0') > bf.padEnd(6, '0') ? 1 : 0);
}

/** Top-level messages by ts, each followed by its thread replies by ts. */
function orderedMessages(channelId) {
  const byTs = state.messages.get(channelId ?? '') ?? new Map();
  const all = [...byTs.values()].sort((a, b) => compareTs(a.ts, b.ts));
  const isReplyInThread = (m) => m.thread_ts !== undefined && m.thread_ts !== m.ts && byTs.has(m.thread_ts);
  const replies = new Map();
  for (const m of all.filter(isReplyInThread)) replies.set(m.thread_ts, [...(replies.get(m.thread_ts) ?? []), m]);
  return all
    .filter((m) => !isReplyInThread(m))
    .flatMap((m) => [{ m, reply: m.thread_ts !== undefined && m.thread_ts !== m.ts }, ...(replies.get(m.ts) ?? []).map((r) => ({ m: r, reply: true }))]);
}

/** @type {WeakMap<Element, string>} */
const renderedHtml = new WeakMap();

/**
 * Rows are kept and only replaced when their HTML changed, so an update to one message does not
 * reset a select menu or the focus in another.
 */
function renderPane(scrollToEnd) {
  const list = els.messages;
  const wasAtEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const wanted = orderedMessages(state.current);
  const rows = new Map([...list.querySelectorAll(':scope > .msg-row')].map((el) => [/** @type {HTMLElement} */ (el).dataset.key, el]));
  const keep = new Set(wanted.map(({ m }) => m.ts));
  for (const [key, el] of rows) if (!keep.has(key ?? '')) el.remove();
  list.querySelector(':scope > .empty')?.remove();
  let previous = null;
  for (const { m, reply } of wanted) {
    let row = rows.get(m.ts);
    if (!row) {
      row = document.createElement('div');
      /** @type {HTMLElement} */ (row).dataset.key = m.ts;
    }
    row.className = reply ? 'msg-row msg-row-reply' : 'msg-row';
    if (renderedHtml.get(row) !== m.html) {
      row.innerHTML = m.html;
      renderedHtml.set(row, m.html);
      localizeTimes(row);
    }
    const expected = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expected !== row) list.insertBefore(row, expected);
    previous = row;
  }
  if (!wanted.length) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'No messages yet. Type /cws help below.';
    list.append(empty);
  }
  if (scrollToEnd || wasAtEnd) list.scrollTop = list.scrollHeight;
}

/** The server renders times in its own zone; show them in the browser's. */
function localizeTimes(root) {
  for (const t of root.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime') ?? '');
    if (Number.isNaN(d.getTime())) continue;
    t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    t.setAttribute('title', d.toLocaleString());
  }
}

// ---------------------------------------------------------------------------------------------
// Composer

const sent = [];
let recall = 0;

async function sendCommand() {
  const raw = els.composer.value;
  if (!raw.trim() || !state.current) return;
  const slash = /^\s*\/(\S+)\s*([\s\S]*)$/.exec(raw);
  if (slash && slash[1]?.toLowerCase() !== 'cws') {
    showError(`/${slash[1]} is not available here: the sandbox only knows /cws.`);
    return;
  }
  const text = (slash ? (slash[2] ?? '') : raw).trim();
  clearError();
  els.composer.disabled = true;
  const res = await api('/api/command', { channel: state.current, text });
  els.composer.disabled = false;
  els.composer.focus();
  if (!res.ok) {
    showError(res.error ?? 'The command failed.');
    return;
  }
  sent.push(raw);
  recall = sent.length;
  els.composer.value = '';
}

function showError(message) {
  els.composerError.textContent = String(message);
  els.composerError.hidden = false;
}

function clearError() {
  els.composerError.textContent = '';
  els.composerError.hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Interactive elements

function parseData(value) {
  if (!value) return null;
  try {
    const v = JSON.parse(value);
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

/** Where an element lives: a message (channel + ts) or a modal (view_id). */
function originOf(el) {
  const home = el.closest('.home');
  if (home) return { channel: '', view_id: home.getAttribute('data-view-id') ?? '' };
  const modal = el.closest('.modal');
  if (modal) return { channel: state.current ?? '', view_id: modal.getAttribute('data-view-id') ?? '' };
  const msg = el.closest('article.msg');
  return { channel: msg?.getAttribute('data-channel') ?? state.current ?? '', ts: msg?.getAttribute('data-ts') ?? '' };
}

/**
 * The action the element's `data-action` describes: its type and ids as shown, and its position
 * (`{block, element}`, element an index or "accessory") in the message or view. The server acts on
 * the element at that position, with that element's own value; the page sends no value of its own.
 */
function actionOf(el) {
  const data = parseData(el.dataset.action);
  if (!data) return null;
  const p = data.position;
  if (!p || !Number.isInteger(p.block) || !(Number.isInteger(p.element) || p.element === 'accessory')) return null;
  return { type: String(data.type), action_id: String(data.action_id), block_id: String(data.block_id), position: { block: p.block, element: p.element } };
}

/** The element stays disabled while its request is in flight. */
async function sendAction(el, action) {
  clearError();
  el.disabled = true;
  const res = await api('/api/action', { ...originOf(el), action });
  el.disabled = false;
  if (!res.ok) showError(res.error ?? 'The action failed.');
}

async function onButton(btn) {
  const action = actionOf(btn);
  if (!action) return showError('This button cannot be used: reload the page.');
  const confirm = parseData(btn.dataset.confirm);
  if (confirm && !(await askConfirm(confirm))) return;
  // As in Slack, a url button opens its link and still sends the action.
  if (btn.dataset.url) window.open(btn.dataset.url, '_blank', 'noopener,noreferrer');
  await sendAction(btn, action);
}

async function onSelect(select) {
  const action = actionOf(select);
  const option = select.selectedOptions[0];
  if (!action) return showError('This menu cannot be used: reload the page.');
  if (!option || !option.value) return;
  const confirm = parseData(select.dataset.confirm);
  const reset = () => {
    select.selectedIndex = 0;
  };
  if (confirm && !(await askConfirm(confirm))) return reset();
  await sendAction(select, { ...action, selected_option: { value: option.value } });
  // An overflow menu is a menu, not a choice: it goes back to "⋯".
  if (action.type === 'overflow') reset();
}

// ---------------------------------------------------------------------------------------------
// Confirm dialog

/** @type {((ok: boolean) => void) | null} */
let settleConfirm = null;

/** `confirm.text` is HTML rendered by the server; the other fields are plain text. */
function askConfirm(confirm) {
  settleConfirm?.(false);
  const returnFocus = document.activeElement;
  els.confirmTitle.textContent = String(confirm.title ?? 'Are you sure?');
  els.confirmText.innerHTML = String(confirm.text ?? '');
  els.confirmOk.textContent = String(confirm.confirm ?? 'Yes');
  els.confirmDeny.textContent = String(confirm.deny ?? 'Cancel');
  els.confirmOk.className = confirm.style === 'danger' ? 'btn btn-danger solid' : 'btn btn-primary';
  els.confirmOverlay.hidden = false;
  els.confirmOk.focus();
  return new Promise((resolve) => {
    settleConfirm = (ok) => {
      settleConfirm = null;
      els.confirmOverlay.hidden = true;
      if (returnFocus instanceof HTMLElement) returnFocus.focus();
      resolve(ok);
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Modals

/** @type {View | null} */
let shownView = null;

function renderTopView() {
  const top = state.views[state.views.length - 1] ?? null;
  if (!top) {
    shownView = null;
    els.modalSlot.replaceChildren();
    els.modalOverlay.hidden = true;
    return;
  }
  if (shownView && shownView.id === top.id && shownView.version === top.version) return;
  // views.update keeps what the user typed in inputs whose block and action ids survive, as Slack does.
  const typed = shownView && shownView.id === top.id ? collectRaw() : new Map();
  els.modalSlot.innerHTML = top.html;
  shownView = top;
  for (const input of modalInputs()) {
    const key = inputKey(input);
    if (typed.has(key)) input.value = typed.get(key);
  }
  els.modalOverlay.hidden = false;
  const first = els.modalSlot.querySelector('input, textarea, select, button');
  if (first instanceof HTMLElement) first.focus();
}

function removeView(id) {
  const before = state.views.length;
  state.views = state.views.filter((v) => v.id !== id);
  if (state.views.length !== before) renderTopView();
}

/** @returns {(HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement)[]} */
function modalInputs() {
  return /** @type {any[]} */ ([...els.modalSlot.querySelectorAll('[data-action-id][data-type]')]);
}

function inputKey(input) {
  return `${input.dataset.blockId}\u0000${input.dataset.actionId}`;
}

function collectRaw() {
  return new Map(modalInputs().map((input) => [inputKey(input), input.value]));
}

/** `view.state.values` as Slack sends it; empty inputs are null, as in Slack. */
function collectValues() {
  /** @type {Record<string, Record<string, unknown>>} */
  const values = {};
  const missing = [];
  for (const input of modalInputs()) {
    const { blockId = '', actionId = '', type = '' } = input.dataset;
    let entry;
    if (input instanceof HTMLSelectElement) {
      const option = input.selectedOptions[0];
      const picked = option && option.value ? option : null;
      entry = {
        type,
        selected_option: picked ? { value: picked.value, text: { type: 'plain_text', text: picked.dataset.text ?? picked.textContent ?? '' } } : null,
      };
      if (!picked && input.hasAttribute('data-required')) missing.push(blockId);
    } else {
      entry = { type, value: input.value === '' ? null : input.value };
      if (!input.value.trim() && input.hasAttribute('data-required')) missing.push(blockId);
    }
    (values[blockId] ??= {})[actionId] = entry;
  }
  return { values, missing };
}

function showViewErrors(errors) {
  const modal = els.modalSlot.querySelector('.modal');
  if (!modal) return;
  const unplaced = [];
  for (const [blockId, message] of Object.entries(errors)) {
    const slot = [...modal.querySelectorAll('[data-error-for]')].find((s) => s.getAttribute('data-error-for') === blockId);
    if (!slot) {
      unplaced.push(String(message));
      continue;
    }
    slot.textContent = String(message);
    /** @type {HTMLElement} */ (slot).hidden = false;
    for (const input of modalInputs()) if (input.dataset.blockId === blockId) input.setAttribute('aria-invalid', 'true');
  }
  const general = modal.querySelector('.modal-error');
  if (general instanceof HTMLElement) {
    general.textContent = unplaced.join(' ');
    general.hidden = !unplaced.length;
  }
}

function clearViewErrors() {
  for (const slot of els.modalSlot.querySelectorAll('[data-error-for], .modal-error')) {
    slot.textContent = '';
    /** @type {HTMLElement} */ (slot).hidden = true;
  }
  for (const input of modalInputs()) input.removeAttribute('aria-invalid');
}

async function submitView(form) {
  const modal = form.closest('.modal');
  const submit = form.querySelector('[data-modal-submit]');
  if (!modal || !(submit instanceof HTMLButtonElement) || submit.disabled) return;
  const viewId = modal.getAttribute('data-view-id') ?? '';
  clearViewErrors();
  const { values, missing } = collectValues();
  if (missing.length) {
    showViewErrors(Object.fromEntries(missing.map((b) => [b, 'Please complete this required field.'])));
    return;
  }
  const version = state.views.find((v) => v.id === viewId)?.version;
  submit.disabled = true;
  const res = await api('/api/view/submit', { view_id: viewId, values });
  submit.disabled = false;
  if (res.ok) {
    // A view replaced while the submission was in flight (response_action "update") stays open.
    if (state.views.find((v) => v.id === viewId)?.version === version) removeView(viewId);
  } else if (res.errors && typeof res.errors === 'object') {
    showViewErrors(res.errors);
  } else {
    showViewErrors({ '': res.error ?? 'The submission failed.' });
  }
}

async function closeView(viewId) {
  removeView(viewId);
  const res = await api('/api/view/close', { view_id: viewId });
  if (!res.ok) showError(res.error ?? 'Closing the view failed.');
}

// ---------------------------------------------------------------------------------------------
// Wiring

function wire() {
  els.composerForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void sendCommand();
  });
  els.composer.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowUp' && recall > 0 && (els.composer.value === '' || els.composer.value === sent[recall])) {
      recall -= 1;
      els.composer.value = sent[recall] ?? '';
      e.preventDefault();
    } else if (e.key === 'ArrowDown' && recall < sent.length && els.composer.value === sent[recall]) {
      recall += 1;
      els.composer.value = sent[recall] ?? '';
      e.preventDefault();
    }
  });
  els.homeLink.addEventListener('click', () => selectHome());
  els.userSwitch.addEventListener('change', () => switchUser(els.userSwitch.value));
  els.channels.addEventListener('click', (e) => {
    const btn = /** @type {HTMLElement} */ (e.target).closest('button[data-channel]');
    if (btn instanceof HTMLElement && btn.dataset.channel) selectChannel(btn.dataset.channel);
  });
  document.addEventListener('click', (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const link = target.closest('a[href]');
    if (link) return followPermalink(link, e);
    const actionButton = target.closest('button[data-action]');
    if (actionButton instanceof HTMLButtonElement) return void onButton(actionButton);
    const close = target.closest('[data-modal-close]');
    const modal = close?.closest('.modal');
    if (close && modal) void closeView(modal.getAttribute('data-view-id') ?? '');
  });
  // Selects in input blocks have no data-action: they are only read on submit.
  document.addEventListener('change', (e) => {
    const target = e.target;
    if (target instanceof HTMLSelectElement && target.dataset.action) void onSelect(target);
  });
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.classList.contains('modal-form')) {
      e.preventDefault();
      void submitView(form);
    }
  });
  els.confirmOk.addEventListener('click', () => settleConfirm?.(true));
  els.confirmDeny.addEventListener('click', () => settleConfirm?.(false));
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (settleConfirm) settleConfirm(false);
    else if (shownView) void closeView(shownView.id);
  });
  window.addEventListener('hashchange', () => {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id === 'home') selectHome();
    else if (state.channels.some((c) => c.id === id)) selectChannel(id);
  });
}

wire();
connect();
