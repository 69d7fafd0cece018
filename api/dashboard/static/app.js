// The popek dashboard: polls the VM list and each live VM's stats, follows
// the event stream, and drives the lifecycle, snapshot and template
// endpoints. Everything is built with DOM calls and textContent, never
// innerHTML, so names and messages from the API cannot inject markup.
import { call, ndjson, consoleURL, vmPath, token, setToken, Unauthorized } from './api.js';
import { Terminal } from './term.js';

const pollMs = 2000;
const maxEvents = 200;
const $ = (id) => document.getElementById(id);

const st = {
  vms: [],
  stats: new Map(), // name -> {at, vcpuSeconds, cpu, rss, uptime, vcpus}
  selected: '',
  timer: 0,
  refreshSoon: 0, // coalesces the refreshes that events ask for
  events: null, // AbortController of the event stream
  ws: null,
  wsVM: '',
  running: false,
  // #vm=NAME in the address selects that VM once it is listed, so a
  // VM's page can be bookmarked or linked.
  wanted: new URLSearchParams(location.hash.slice(1)).get('vm') || '',
};

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

// ---- formatting ----

function bytes(n) {
  if (!n && n !== 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function duration(s) {
  if (s === undefined) return '—';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const live = (state) => state === 'running' || state === 'paused';
const time = (t) => new Date(t).toLocaleTimeString();

// ---- messages and dialogs ----

let messageTimer = 0;
function say(text, isError = false) {
  const m = $('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
  m.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { m.hidden = true; }, isError ? 8000 : 3000);
}

// ask shows a modal form and resolves to its values, or null if cancelled.
// fields: [{name, label, type: 'text'|'number'|'checkbox'|'select', value, options, required}]
function ask({ title, message = '', fields = [], ok = 'OK', danger = false }) {
  const dlg = $('ask');
  $('ask-title').textContent = title;
  $('ask-message').textContent = message;
  $('ask-message').hidden = !message;
  const inputs = fields.map((f) => {
    let input;
    if (f.type === 'select') {
      input = el('select', { name: f.name }, ...f.options.map(([v, t]) => el('option', { value: v, textContent: t })));
      input.value = f.value || f.options[0][0];
    } else {
      input = el('input', { name: f.name, type: f.type || 'text', required: !!f.required, placeholder: f.placeholder || '' });
      if (f.type === 'checkbox') input.checked = !!f.value; else input.value = f.value ?? '';
      if (f.min !== undefined) input.min = f.min;
    }
    const label = f.type === 'checkbox'
      ? el('label', { class: 'check' }, input, f.label)
      : el('label', {}, f.label, input);
    if (f.showIf) label.dataset.showIf = f.showIf;
    return [f, input, label];
  });
  $('ask-fields').replaceChildren(...inputs.map(([, , l]) => l));
  const sync = () => {
    const values = collect();
    for (const [f, , label] of inputs) {
      if (f.showIf) label.hidden = !f.showIf(values);
    }
  };
  const collect = () => Object.fromEntries(inputs.map(([f, i]) => [f.name, f.type === 'checkbox' ? i.checked : i.value.trim()]));
  $('ask-fields').onchange = sync;
  $('ask-fields').oninput = sync;
  sync();
  $('ask-ok').textContent = ok;
  $('ask-ok').className = danger ? 'danger' : '';
  return new Promise((resolve) => {
    // No close handler: the close event of one dialog is delivered
    // later and could answer the next. Escape is a cancel, handled here.
    const done = (v) => { $('ask-form').onsubmit = null; $('ask-cancel').onclick = null; dlg.oncancel = null; dlg.close(); resolve(v); };
    $('ask-form').onsubmit = (e) => { e.preventDefault(); done(collect()); };
    $('ask-cancel').onclick = () => done(null);
    dlg.oncancel = (e) => { e.preventDefault(); done(null); };
    dlg.showModal();
    const first = dlg.querySelector('input, select');
    if (first) first.focus(); else $('ask-ok').focus();
  });
}

const confirmDo = (title, message, ok) => ask({ title, message, ok, danger: true });

// act runs one API operation, reports its failure, and refreshes.
async function act(label, f) {
  try {
    await f();
    say(label);
  } catch (e) {
    if (e instanceof Unauthorized) { loggedOut(); return; }
    say(`${label}: ${e.message}`, true);
  }
  refresh();
  if (st.selected) loadSnapshots();
}

// ---- login ----

function loggedOut() {
  stop();
  if ($('login').open) return; // several requests fail at once
  $('daemon-status').textContent = 'not logged in';
  $('login').showModal();
  $('login-token').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const previous = token();
  setToken($('login-token').value.trim());
  try {
    await call('GET', '/v1/vms');
  } catch (err) {
    setToken(previous);
    $('login-error').textContent = err instanceof Unauthorized ? 'The daemon refused that token.' : err.message;
    $('login-error').hidden = false;
    return;
  }
  $('login-error').hidden = true;
  $('login-token').value = '';
  $('login').close();
  start();
});
$('login').addEventListener('cancel', (e) => e.preventDefault()); // nothing works without it

$('logout').addEventListener('click', () => {
  setToken('');
  location.reload();
});

// ---- VM list and stats ----

async function refresh() {
  if (!st.running) return;
  clearTimeout(st.timer);
  try {
    const [vms, templates] = await Promise.all([call('GET', '/v1/vms'), call('GET', '/v1/templates')]);
    st.vms = vms.sort((a, b) => a.name.localeCompare(b.name));
    await Promise.all(st.vms.filter((v) => live(v.state)).map(loadStats));
    for (const name of st.stats.keys()) {
      if (!st.vms.some((v) => v.name === name && live(v.state))) st.stats.delete(name);
    }
    $('daemon-status').textContent = `${st.vms.length} VM${st.vms.length === 1 ? '' : 's'}, ${st.vms.filter((v) => v.state === 'running').length} running`;
    renderVMs();
    renderTemplates(templates);
    renderDetail();
    if (st.wanted && st.vms.some((v) => v.name === st.wanted)) {
      const name = st.wanted;
      st.wanted = '';
      select(name);
    }
  } catch (e) {
    if (e instanceof Unauthorized) { loggedOut(); return; }
    $('daemon-status').textContent = `daemon unreachable: ${e.message}`;
  }
  clearTimeout(st.timer); // overlapping refreshes (poll, event, action) keep one timer
  if (st.running) st.timer = setTimeout(refresh, pollMs);
}

async function loadStats(vm) {
  let s;
  try {
    s = await call('GET', vmPath(vm.name, 'stats'));
  } catch (e) {
    if (e instanceof Unauthorized) throw e;
    return; // it went away between the list and now
  }
  const now = performance.now();
  const prev = st.stats.get(vm.name);
  let cpu;
  if (prev && now > prev.at && s.vcpu_seconds >= prev.vcpuSeconds) {
    cpu = (100 * (s.vcpu_seconds - prev.vcpuSeconds)) / ((now - prev.at) / 1000);
  }
  st.stats.set(vm.name, { at: now, vcpuSeconds: s.vcpu_seconds, cpu, rss: s.resident_bytes, uptime: s.uptime_seconds, vcpus: s.vcpus });
}

function stateBadge(state) {
  return el('span', { class: `state ${state}`, textContent: state });
}

function renderVMs() {
  const rows = st.vms.map((vm) => {
    const s = st.stats.get(vm.name) || {};
    const cfg = vm.config || {};
    return el('tr', { class: vm.name === st.selected ? 'selected' : '', onclick: () => select(vm.name) },
      el('td', { textContent: vm.name }),
      el('td', {}, stateBadge(vm.state)),
      el('td', { class: 'num', textContent: String(s.vcpus || cfg.vcpus || 1) }),
      el('td', { class: 'num', textContent: cfg.memory || (cfg.template ? 'template' : 'default') }),
      el('td', { class: 'num', textContent: live(vm.state) ? duration(s.uptime) : '—' }),
      el('td', { class: 'num', textContent: s.cpu === undefined ? '—' : `${s.cpu.toFixed(1)}%` }),
      el('td', { class: 'num', textContent: live(vm.state) ? bytes(s.rss) : '—' }));
  });
  $('vms').tBodies[0].replaceChildren(...rows);
  $('no-vms').hidden = rows.length > 0;
}

function renderTemplates(list) {
  const rows = list.map((t) => el('tr', {},
    el('td', { textContent: t.name }),
    el('td', { textContent: t.source_vm + (t.source_snapshot ? ` @ ${t.source_snapshot}` : '') }),
    el('td', { class: 'num', textContent: String(t.vcpus) }),
    el('td', { class: 'num', textContent: t.memory }),
    el('td', { class: 'num', textContent: String((t.vms || []).length), title: (t.vms || []).join(', ') }),
    el('td', {},
      el('button', { type: 'button', textContent: 'New VM', onclick: () => cloneTemplate(t.name) }), ' ',
      el('button', { type: 'button', class: 'danger', textContent: 'Delete', onclick: () => deleteTemplate(t.name) }))));
  $('templates').tBodies[0].replaceChildren(...rows);
  $('no-templates').hidden = rows.length > 0;
}

// ---- the selected VM ----

function select(name) {
  if (st.selected === name) return;
  st.selected = name;
  history.replaceState(null, '', `#vm=${encodeURIComponent(name)}`);
  renderVMs();
  renderDetail();
  loadSnapshots();
  attach();
}

function renderDetail() {
  const vm = st.vms.find((v) => v.name === st.selected);
  $('detail').hidden = !vm;
  if (!vm) {
    if (st.selected) { st.selected = ''; detach(); }
    return;
  }
  $('detail-name').textContent = vm.name;
  $('detail-state').replaceWith(Object.assign(stateBadge(vm.state), { id: 'detail-state' }));
  $('detail-error').textContent = vm.error || '';
  $('detail-error').hidden = !vm.error;
  const b = (label, f, enabled, cls = 'secondary') =>
    el('button', { type: 'button', class: cls, textContent: label, disabled: !enabled, onclick: f });
  const s = vm.state, n = vm.name;
  $('actions').replaceChildren(
    b('Start', () => act(`${n} started`, () => call('POST', vmPath(n, 'start'))), s === 'stopped' || s === 'error', ''),
    b('Stop', () => stopVM(n), live(s)),
    b('Pause', () => act(`${n} paused`, () => call('POST', vmPath(n, 'pause'))), s === 'running'),
    b('Resume', () => act(`${n} resumed`, () => call('POST', vmPath(n, 'resume'))), s === 'paused'),
    b('Reboot', () => rebootVM(n), s === 'running'),
    b('Snapshot…', () => snapshotVM(n), live(s)),
    b('Make template…', () => templateFrom(n, ''), live(s)),
    b('Balloon…', () => balloonVM(n), live(s) && hasBalloon(vm)),
    b('Delete…', () => deleteVM(vm), true, 'danger'));
}

async function stopVM(name) {
  if (await confirmDo(`Stop ${name}?`, 'This powers the VM off at once, like pulling the plug.', 'Stop')) {
    act(`${name} stopped`, () => call('POST', vmPath(name, 'stop')));
  }
}

async function rebootVM(name) {
  if (await confirmDo(`Reboot ${name}?`, 'A hard reset: a fresh machine boots.', 'Reboot')) {
    act(`${name} rebooted`, () => call('POST', vmPath(name, 'reboot')));
  }
}

async function deleteVM(vm) {
  const running = vm.state !== 'stopped' && vm.state !== 'error';
  const msg = `Deletes the definition of ${vm.name}, its snapshots and the disks the daemon made for it.` +
    (running ? ' The VM is ' + vm.state + ': it is stopped first.' : '');
  if (await confirmDo(`Delete ${vm.name}?`, msg, 'Delete')) {
    act(`${vm.name} deleted`, () => call('DELETE', vmPath(vm.name) + (running ? '?force=true' : '')));
  }
}

// A template clone's machine comes from its template, balloon included:
// the daemon says whether it has one.
const hasBalloon = (vm) => !!(vm.config && (vm.config.balloon || vm.config.template));

async function balloonVM(name) {
  let cur;
  try {
    cur = await call('GET', vmPath(name, 'balloon'));
  } catch (e) {
    if (e instanceof Unauthorized) { loggedOut(); return; }
    say(`balloon of ${name}: ${e.message}`, true);
    return;
  }
  const stats = cur.stats || {};
  const free = stats.free_memory !== undefined ? `; the guest has ${bytes(stats.free_memory)} free` : '';
  const v = await ask({
    title: `Balloon of ${name}`, ok: 'Set size',
    message: `${bytes(cur.actual_bytes)} in the balloon (target ${bytes(cur.target_bytes)}), ` +
      `${bytes(cur.guest_memory_bytes)} left to the guest${free}. The guest gives the balloon's size back to the host; 0 returns it all.`,
    fields: [{ name: 'size', label: 'Balloon size (e.g. 64M, 0)', required: true, value: `${Math.round(cur.target_bytes / 1048576)}M` }],
  });
  if (!v) return;
  act(`balloon of ${name} set to ${v.size}`, () => call('PUT', vmPath(name, 'balloon'), { size: v.size }));
}

async function snapshotVM(name) {
  const v = await ask({
    title: `Snapshot ${name}`, ok: 'Take snapshot',
    fields: [
      { name: 'name', label: 'Snapshot name', required: true, value: new Date().toISOString().replace(/[-:]/g, '').slice(0, 15) },
      { name: 'incremental', label: 'Incremental (only pages changed since the last snapshot)', type: 'checkbox' },
      { name: 'compress', label: 'Compress memory (zstd)', type: 'checkbox' },
    ],
  });
  if (!v) return;
  act(`snapshot ${v.name} of ${name} taken`, () => call('POST', vmPath(name, 'snapshots'), { name: v.name, incremental: v.incremental, compress: v.compress }));
}

async function templateFrom(vm, snapshot) {
  const v = await ask({
    title: `Template from ${vm}${snapshot ? ` @ ${snapshot}` : ''}`, ok: 'Make template',
    message: snapshot ? 'A full copy of this snapshot.' : 'A snapshot of the VM now (it pauses briefly), as a template for clones.',
    fields: [{ name: 'name', label: 'Template name', required: true }],
  });
  if (!v) return;
  const req = { name: v.name, vm };
  if (snapshot) req.snapshot = snapshot;
  act(`template ${v.name} made`, () => call('POST', '/v1/templates', req));
}

async function cloneTemplate(tmpl) {
  const v = await ask({
    title: `New VM from template ${tmpl}`, ok: 'Create',
    fields: [
      { name: 'name', label: 'VM name', required: true },
      { name: 'start', label: 'Start it now', type: 'checkbox', value: true },
    ],
  });
  if (!v) return;
  act(`${v.name} created from ${tmpl}`, async () => {
    await call('POST', '/v1/vms', { name: v.name, template: tmpl });
    if (v.start) await call('POST', vmPath(v.name, 'start'));
    await refresh(); // so that the new VM is in the list to select
    select(v.name);
  });
}

async function deleteTemplate(name) {
  if (await confirmDo(`Delete template ${name}?`, 'Refused while VMs created from it exist.', 'Delete')) {
    act(`template ${name} deleted`, () => call('DELETE', `/v1/templates/${encodeURIComponent(name)}`));
  }
}

async function loadSnapshots() {
  const name = st.selected;
  if (!name) return;
  let list;
  try {
    list = await call('GET', vmPath(name, 'snapshots'));
  } catch (e) {
    if (e instanceof Unauthorized) { loggedOut(); return; }
    list = [];
  }
  if (name !== st.selected) return;
  const rows = list.map((s) => el('tr', {},
    el('td', { textContent: s.name }),
    el('td', { textContent: new Date(s.created).toLocaleString() }),
    el('td', { textContent: (s.incremental ? `incremental on ${s.parent}` : 'full') + (s.compressed ? ', zstd' : '') }),
    el('td', { class: 'num', textContent: bytes(s.size_bytes) }),
    el('td', {},
      el('button', { type: 'button', textContent: 'Revert', onclick: () => revert(name, s.name) }), ' ',
      el('button', { type: 'button', class: 'secondary', textContent: 'Template…', onclick: () => templateFrom(name, s.name) }), ' ',
      el('button', { type: 'button', class: 'danger', textContent: 'Delete', onclick: () => deleteSnapshot(name, s.name) }))));
  $('snapshots').tBodies[0].replaceChildren(...rows);
  $('no-snapshots').hidden = rows.length > 0;
}

async function revert(vm, snap) {
  if (await confirmDo(`Revert ${vm} to ${snap}?`, 'Memory, devices and disks go back to that instant; what happened since is lost.', 'Revert')) {
    act(`${vm} reverted to ${snap}`, () => call('POST', vmPath(vm, 'snapshots', snap, 'revert')));
  }
}

async function deleteSnapshot(vm, snap) {
  if (await confirmDo(`Delete snapshot ${snap}?`, 'Incremental snapshots built on it are rewritten as full ones first.', 'Delete')) {
    act(`snapshot ${snap} deleted`, () => call('DELETE', vmPath(vm, 'snapshots', snap)));
  }
}

// ---- the console ----

const term = new Terminal($('console'), (s) => {
  if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(new TextEncoder().encode(s));
});
$('console-clear').addEventListener('click', () => { term.reset(); $('console').focus(); });
$('console-connect').addEventListener('click', () => { st.wsVM = ''; attach(); });

function detach() {
  if (st.ws) { st.ws.onclose = null; st.ws.close(); }
  st.ws = null;
  st.wsVM = '';
}

async function attach() {
  const name = st.selected;
  if (!name || (st.ws && st.wsVM === name)) return;
  detach();
  term.reset();
  st.wsVM = name;
  $('console-status').textContent = 'attaching…';
  let url;
  try {
    url = await consoleURL(name);
  } catch (e) {
    if (e instanceof Unauthorized) { loggedOut(); return; }
    $('console-status').textContent = `cannot attach: ${e.message}`;
    st.wsVM = '';
    return;
  }
  if (st.selected !== name) return;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  st.ws = ws;
  ws.onopen = () => { $('console-status').textContent = `attached to ${name} (click the console to type)`; };
  ws.onmessage = (m) => {
    if (typeof m.data === 'string') {
      try {
        const n = JSON.parse(m.data);
        term.notice(`${n.type}: ${n.state}${n.message ? ` (${n.message})` : ''}`);
      } catch { /* not a notice: ignore */ }
      return;
    }
    term.write(new Uint8Array(m.data));
  };
  ws.onclose = (e) => {
    if (st.ws !== ws) return;
    st.ws = null;
    $('console-status').textContent = `detached${e.reason ? `: ${e.reason}` : ''}`;
    term.notice('console closed');
  };
}

// ---- events ----

function addEvent(e) {
  const li = el('li', {},
    el('time', { textContent: time(e.time), dateTime: e.time }),
    el('strong', { textContent: e.vm }), ` ${e.type} → `, stateBadge(e.state),
    e.message ? el('span', { class: 'muted', textContent: ` ${e.message}` }) : null);
  const list = $('events');
  list.prepend(li);
  while (list.children.length > maxEvents) list.lastChild.remove();
}

async function followEvents() {
  let since = 0;
  while (st.running) {
    st.events = new AbortController();
    try {
      $('events-status').textContent = 'live';
      for await (const e of ndjson(`/v1/events?since=${since}`, st.events.signal)) {
        since = e.seq;
        addEvent(e);
        if (e.vm === st.selected && ['snapshotted', 'reverted', 'deleted'].includes(e.type)) loadSnapshots();
        if (e.vm === st.selected && e.type === 'started' && !st.ws) attach();
        clearTimeout(st.refreshSoon);
        st.refreshSoon = setTimeout(refresh, 100); // coalesce bursts of events
      }
    } catch (e) {
      if (e instanceof Unauthorized) { loggedOut(); return; }
      if (e.name === 'AbortError') return;
    }
    $('events-status').textContent = 'reconnecting…';
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

// ---- new VM ----

$('new-vm').addEventListener('click', async () => {
  const v = await ask({
    title: 'New VM', ok: 'Create',
    message: 'Leave the kernel empty for popek\'s built-in Linux guest.',
    fields: [
      { name: 'name', label: 'Name', required: true },
      { name: 'vcpus', label: 'vCPUs', type: 'number', value: '1', min: 1 },
      { name: 'memory', label: 'Memory (e.g. 256M, 1G)', value: '256M' },
      { name: 'kernel', label: 'Kernel (path on the host, optional)' },
      { name: 'disk', label: 'Disk image (path on the host, optional)' },
      { name: 'overlay', label: 'Copy-on-write overlay for the disk (optional)', showIf: (x) => !!x.disk },
      { name: 'net', label: 'Network', type: 'select', options: [['none', 'none'], ['user', 'user-mode NAT'], ['switch', 'virtual switch']] },
      { name: 'switch', label: 'Switch name', showIf: (x) => x.net === 'switch' },
      { name: 'start', label: 'Start it now', type: 'checkbox', value: true },
    ],
  });
  if (!v) return;
  const doc = { name: v.name };
  if (v.vcpus) doc.vcpus = Number(v.vcpus);
  if (v.memory) doc.memory = v.memory;
  if (v.kernel) doc.kernel = v.kernel;
  if (v.disk) doc.drives = [v.overlay ? { file: v.disk, overlay: v.overlay } : { file: v.disk }];
  if (v.net === 'user') doc.nets = [{ mode: 'user' }];
  if (v.net === 'switch') doc.nets = [{ mode: 'switch', switch: v.switch }];
  act(`${v.name} created`, async () => {
    await call('POST', '/v1/vms', doc);
    if (v.start) await call('POST', vmPath(v.name, 'start'));
    await refresh();
    select(v.name);
  });
});

// ---- start and stop ----

function start() {
  st.running = true;
  $('logout').hidden = !token();
  refresh();
  followEvents();
  if (st.selected) { st.wsVM = ''; attach(); }
}

function stop() {
  st.running = false;
  clearTimeout(st.timer);
  if (st.events) st.events.abort();
  detach();
}

start();
