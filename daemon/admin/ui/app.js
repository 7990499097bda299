// The status page: polls /status and /status/traffic and renders them.
// Text goes in with textContent only; charts are inline SVG drawn here.
'use strict';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
let pollMs = 2000;
let logs = new Map(); // access log health by logKey, from /status

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function set(id, text) { $(id).textContent = text; }

function ago(iso) {
  if (!iso) return 'never';
  const t = new Date(iso);
  const s = Math.max(0, Math.round((Date.now() - t.getTime()) / 1000));
  const rel = s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' : s < 172800 ? Math.floor(s / 3600) + 'h' : Math.floor(s / 86400) + 'd';
  return t.toLocaleString() + ' (' + rel + ' ago)';
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
}

function num(n) { return n >= 100 ? Math.round(n).toString() : n >= 10 ? n.toFixed(1) : n.toFixed(2); }

// problems lists a rejected change's errors one per line: file:line:col: msg.
function problems(list, errors, message) {
  list.replaceChildren();
  const lines = (errors && errors.length)
    ? errors.map((p) => (p.file ? p.file + ':' + p.line + ':' + p.col + ': ' : '') + p.msg)
    : (message || '').trim().split('\n');
  for (const l of lines) if (l) list.append(el('li', {}, l));
}

function renderStatus(st) {
  set('node', st.node || '');
  const ready = $('ready');
  ready.textContent = st.ready ? 'ready' : 'not ready: no table loaded';
  ready.className = 'badge ' + (st.ready ? 'ok' : 'bad');
  set('version', st.version || '-');
  set('commit', st.sourceCommit || (st.config && st.config.commit) || '-');
  set('source', st.sourceDir || (st.config && st.config.path) || '-');
  set('applied', ago(st.appliedAt));
  set('counts', st.distributions + ' web, ' + st.streamingDistributions + ' streaming');
  set('listeners', (st.listeners || []).join(', ') || 'none');

  const cfg = st.config || {};
  const state = $('config-state');
  state.textContent = cfg.failing
    ? 'FAILING: the files on disk were refused (last rejected, below); an older table is served'
    : 'the files compile: what is served is what is on disk';
  state.className = cfg.failing ? 'failing' : '';
  set('reloads', (cfg.path ? cfg.path + ': ' : '') + (cfg.reloads || 0) + ' reloads, ' + (cfg.failures || 0) + ' failures');
  const warnings = cfg.warnings || [];
  $('warnings').hidden = !warnings.length;
  problems($('warnings-list'), warnings, '');
  // Serving from git, a rejected commit is shown in the git section at its
  // path in the repository; the reloader's copy names the checkout's file,
  // the good commit's once rolled back (as in `openfront status`).
  const rej = st.git && !cfg.failing ? null : cfg.lastError;
  $('rejected').hidden = !rej;
  if (rej) {
    set('rejected-when', rej.reason + ' change at ' + ago(rej.at));
    problems($('rejected-errors'), rej.errors, rej.message);
  }
  renderGit(st.git);
  // A retired or stranded log is of no distribution of the table: `openfront status` lists them.
  logs = new Map((st.accessLogs || []).filter((h) => !h.retired && !h.stranded).map((h) => [logKey(h.distribution, h.streaming), h]));
}

function logKey(id, streaming) { return (streaming ? 'rtmp:' : 'web:') + id; }

// accessLog is a distribution's access log line, and what is wrong with it.
function accessLog(h) {
  let where = h.dir ? 'written to ' + h.dir : 'not written';
  if (h.bucket) where += ', uploaded to ' + h.bucket;
  if (h.pendingFiles) where += '; ' + h.pendingFiles + ' files (' + bytes(h.pendingBytes) + ') waiting for upload';
  const box = el('div', { class: 'log' }, el('p', { class: 'muted' }, 'Access log ' + where));
  const list = el('ul', { class: 'errors' });
  const add = (what, p) => { if (p) list.append(el('li', {}, what + ' (' + ago(p.at) + '): ' + p.message)); };
  add('not applied', h.setupError);
  add('write failed, lines dropped', h.writeError);
  add('upload failed, retried', h.uploadError);
  add('spool full, files deleted before upload', h.spoolFull);
  if (list.children.length) box.append(list);
  return box;
}

function renderGit(g) {
  $('git').hidden = !g;
  if (!g) return;
  const facts = $('git-facts');
  facts.replaceChildren();
  const fact = (k, v) => { if (v) facts.append(el('dt', {}, k), el('dd', { class: 'mono' }, v)); };
  fact('Repository', g.url + ' (' + g.branch + (g.subdir ? ', ' + g.subdir : '') + ')');
  fact('Head', g.head);
  fact('Applied', g.applied);
  fact('Last fetch', g.lastFetch ? ago(g.lastFetch) + (g.fetchError ? ': FAILED: ' + g.fetchError : ', ok') : 'never');
  const r = g.lastRejected;
  $('git-rejected').hidden = !r;
  if (r) {
    set('git-rejected-what', r.sha + ' ' + (r.subject || '') + ' at ' + ago(r.at));
    problems($('git-rejected-errors'), r.errors, r.message);
  }
}

// chart draws values (null: no data) as a line over an area; ratio
// charts span 0..1, the others 0..max.
function chart(label, values, current, ratio) {
  const w = 240, h = 48;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const known = values.filter((v) => v !== null);
  const max = ratio ? 1 : Math.max(1e-9, ...known);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const x = values.length > 1 ? i * step : w / 2;
    const y = h - 2 - (v / max) * (h - 4);
    d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1) + ' ';
    pen = true;
  });
  if (d) {
    const area = document.createElementNS(SVG, 'path');
    area.setAttribute('class', 'area');
    const first = d.match(/^M([\d.]+)/)[1];
    const last = d.trim().split(' ').slice(-2)[0].replace(/^[ML]/, '');
    area.setAttribute('d', d + 'L' + last + ' ' + h + ' L' + first + ' ' + h + ' Z');
    const line = document.createElementNS(SVG, 'path');
    line.setAttribute('class', 'line');
    line.setAttribute('d', d.trim());
    svg.append(area, line);
  }
  svg.dataset.points = known.length;
  return el('figure', { class: 'chart' }, el('figcaption', {}, label + ' ', el('span', { class: 'value' }, current)), svg);
}

function renderDistribution(d) {
  const pts = d.points;
  const last = pts[pts.length - 1];
  const rps = pts.map((p) => p.requestsPerSecond);
  const hit = pts.map((p) => p.hitRatio);
  const bps = pts.map((p) => p.bytesPerSecond);
  const lastHit = [...hit].reverse().find((v) => v !== null);
  const head = el('h3', {}, d.id);
  if (d.kind === 'streaming') head.append(el('span', { class: 'tag' }, 'RTMP'));
  if (!d.enabled) head.append(el('span', { class: 'tag' }, 'disabled'));
  const card = el('article', { class: 'dist', 'data-id': d.id }, head,
    el('p', { class: 'aliases mono' }, d.aliases.length ? d.aliases.join(', ') : '(no aliases)'),
    el('div', { class: 'charts' },
      chart('requests/s', rps, last ? num(last.requestsPerSecond) : '-', false),
      chart('hit ratio', hit, lastHit === undefined ? '-' : Math.round(lastHit * 100) + '%', true),
      chart('bytes/s', bps, last ? bytes(last.bytesPerSecond) + '/s' : '-', false)),
    el('p', { class: 'muted' }, Math.round(d.requests) + ' requests, ' + bytes(d.bytes) + ' sent since start'));
  const log = logs.get(logKey(d.id, d.kind === 'streaming'));
  if (log) card.append(accessLog(log));
  if (d.origins.length) {
    const body = el('tbody');
    for (const o of d.origins) {
      const kinds = Object.entries(o.errorKinds || {}).filter(([, n]) => n > 0).map(([k, n]) => k + ' ' + n).join(', ');
      body.append(el('tr', { class: o.recentErrors > 0 ? 'unhealthy' : '' },
        el('td', { class: 'mono' }, o.id),
        el('td', { class: 'num' }, Math.round(o.requests).toString()),
        el('td', { class: 'num' }, Math.round(o.recentErrors) + ' / ' + Math.round(o.errors)),
        el('td', {}, kinds),
        el('td', { class: 'num' }, o.lastLatencySeconds === null ? '-' : (o.lastLatencySeconds * 1000).toFixed(1) + ' ms')));
    }
    card.append(el('table', { class: 'origins' },
      el('thead', {}, el('tr', {}, el('th', {}, 'origin'), el('th', {}, 'requests'), el('th', {}, 'errors (recent / all)'), el('th', {}, 'kinds'), el('th', {}, 'last latency'))),
      body));
  }
  return card;
}

function renderTraffic(tr) {
  pollMs = Math.max(1000, Math.min(10000, tr.sampleSeconds * 1000));
  const n = Math.max(0, ...tr.distributions.map((d) => d.points.length));
  set('window', n ? '(last ' + Math.round(n * tr.sampleSeconds) + 's)' : '(collecting samples)');
  $('dists').replaceChildren(...tr.distributions.map(renderDistribution));
}

async function getJSON(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

async function poll() {
  try {
    const [st, tr] = await Promise.all([getJSON('/status'), getJSON('/status/traffic')]);
    renderStatus(st);
    renderTraffic(tr);
    $('unreachable').hidden = true;
    set('updated', 'updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    const u = $('unreachable');
    u.textContent = 'cannot reach the node: ' + e.message + ' (retrying)';
    u.hidden = false;
  }
  setTimeout(poll, pollMs);
}

poll();
