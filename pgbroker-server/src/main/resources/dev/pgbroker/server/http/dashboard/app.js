// The pgbroker dashboard: polls the JSON API every two seconds with the token the user gave,
// keeps five minutes of counters per queue in memory, and draws the rates as inline SVG.
'use strict';

const REFRESH_MS = 2000;
const HISTORY = 150; // samples: five minutes at REFRESH_MS
const samplesByQueue = new Map(); // queue -> [{t, sent, acked, depth}]
let selected = null;

function token() {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) {
    sessionStorage.setItem('pgbroker-token', fromUrl);
    window.history.replaceState(null, '', location.pathname); // keep the token out of the address bar
  }
  return sessionStorage.getItem('pgbroker-token');
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: 'Bearer ' + token(), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    const error = new Error(json.message || response.statusText);
    error.status = response.status;
    throw error;
  }
  return json;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function age(ms) {
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return (ms / 60000).toFixed(1) + ' min';
  return (ms / 3600000).toFixed(1) + ' h';
}

function record(q) {
  const samples = samplesByQueue.get(q.queue) || [];
  samples.push({ t: Date.now(), sent: q.sent, acked: q.acked, depth: q.ready + q.delayed + q.in_flight });
  while (samples.length > HISTORY) samples.shift();
  samplesByQueue.set(q.queue, samples);
  return samples;
}

function rate(samples, key) {
  if (samples.length < 2) return 0;
  const a = samples[samples.length - 2], b = samples[samples.length - 1];
  return Math.max(0, (b[key] - a[key]) / ((b.t - a.t) / 1000));
}

function chart(samples) {
  const w = 180, h = 36, ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h);
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000 || 1;
    rates.push({
      sent: Math.max(0, (samples[i].sent - samples[i - 1].sent) / dt),
      acked: Math.max(0, (samples[i].acked - samples[i - 1].acked) / dt),
      depth: samples[i].depth,
    });
  }
  const maxRate = Math.max(1, ...rates.map(r => Math.max(r.sent, r.acked)));
  const maxDepth = Math.max(1, ...rates.map(r => r.depth));
  for (const [key, color, max] of [['sent', '#2b6cb0', maxRate], ['acked', '#2f855a', maxRate], ['depth', '#c05621', maxDepth]]) {
    const points = rates.map((r, i) =>
      (i * w / Math.max(30, rates.length - 1)).toFixed(1) + ',' + (h - 1 - r[key] / max * (h - 2)).toFixed(1)).join(' ');
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points); line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color); line.setAttribute('stroke-width', '1.5');
    svg.append(line);
  }
  return svg;
}

async function refreshQueues() {
  const { queues } = await api('GET', '/v1/queues');
  const body = document.querySelector('#queues tbody');
  body.replaceChildren(...queues.map(q => {
    const samples = record(q);
    return el('tr', { 'data-queue': q.queue, class: q.queue === selected ? 'selected' : '',
        onclick: () => { selected = q.queue; refresh(); } },
      el('td', {}, q.queue), el('td', { class: 'n ready' }, q.ready), el('td', { class: 'n' }, q.delayed),
      el('td', { class: 'n' }, q.in_flight), el('td', { class: 'n dead' + (q.dead ? ' dead-count' : '') }, q.dead),
      el('td', { class: 'n' }, age(q.oldest_ready_age_ms)),
      el('td', { class: 'n' }, rate(samples, 'sent').toFixed(1)), el('td', { class: 'n' }, rate(samples, 'acked').toFixed(1)),
      el('td', {}, chart(samples)));
  }));
  if (selected === null) {
    const withDead = queues.find(q => q.dead > 0);
    if (withDead) selected = withDead.queue;
  }
}

async function refreshDead() {
  const body = document.querySelector('#dead tbody');
  document.getElementById('dead-queue').textContent = selected ? 'in ' + selected : '';
  if (!selected) { body.replaceChildren(); return; }
  const { dead_letters } = await api('GET', '/v1/queues/' + encodeURIComponent(selected) + '/dead-letters?limit=100');
  document.getElementById('dead-empty').hidden = dead_letters.length > 0;
  body.replaceChildren(...dead_letters.map(d => el('tr', { 'data-id': d.id },
    el('td', {}, d.id), el('td', { class: 'n' }, d.attempts + d.prior_attempts), el('td', {}, d.dead_at),
    el('td', { class: 'error' }, d.last_error || ''),
    el('td', {}, el('details', {}, el('summary', {}, d.errors.length + (d.errors.length === 1 ? ' error' : ' errors')),
      ...d.errors.map(e => el('pre', {}, '#' + e.attempt + ' ' + e.at + ': ' + (e.error || '') + (e.trace ? '\n' + e.trace : ''))))),
    el('td', {}, el('button', { class: 'replay', onclick: () => replay(d.id) }, 'Replay')))));
}

async function replay(id) {
  await api('POST', '/v1/queues/' + encodeURIComponent(selected) + '/dead-letters/replay', { ids: [id] });
  await refresh();
}

// The relay running in this server, if any: each relayed queue's lag.
async function refreshRelay() {
  const { queues } = await api('GET', '/v1/relay');
  document.getElementById('relay').hidden = queues.length === 0;
  document.querySelector('#relay-lag tbody').replaceChildren(...queues.map(q =>
    el('tr', { 'data-relay-queue': q.queue }, el('td', {}, q.queue), el('td', { class: 'n lag' }, age(q.lag_ms)))));
}

async function refreshTopics() {
  const { topics } = await api('GET', '/v1/topics');
  const rows = [];
  for (const t of topics) {
    if (t.subscriptions.length === 0) rows.push(el('tr', {}, el('td', {}, t.topic), el('td', {}, '-'), el('td', {}, '')));
    for (const s of t.subscriptions) {
      rows.push(el('tr', {}, el('td', {}, t.topic), el('td', {}, s.subscription),
        el('td', {}, Object.keys(s.filter).length ? JSON.stringify(s.filter) : 'all')));
    }
  }
  document.querySelector('#topics tbody').replaceChildren(...rows);
}

async function refreshSchedules() {
  const { schedules } = await api('GET', '/v1/schedules');
  document.querySelector('#schedules tbody').replaceChildren(...schedules.map(s =>
    el('tr', { 'data-schedule': s.name }, el('td', {}, s.name), el('td', {}, s.queue),
      el('td', {}, s.cron ? s.cron + ' (' + s.time_zone + ')' : 'every ' + age(s.every_ms)),
      el('td', {}, s.next_run), el('td', {}, s.last_run || '-'),
      el('td', {}, s.paused ? 'paused' : ''))));
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    await refreshQueues();
    await refreshRelay();
    await refreshDead();
    await refreshTopics();
    await refreshSchedules();
    status.textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    if (e.status === 401) { showLogin(); }
    status.textContent = 'error: ' + e.message;
  }
}

function showLogin() {
  sessionStorage.removeItem('pgbroker-token');
  document.getElementById('login').hidden = false;
  document.getElementById('main').hidden = true;
}

document.getElementById('login').addEventListener('submit', ev => {
  ev.preventDefault();
  sessionStorage.setItem('pgbroker-token', document.getElementById('token').value.trim());
  start();
});

let timer = null;
function start() {
  if (!token()) { showLogin(); return; }
  document.getElementById('login').hidden = true;
  document.getElementById('main').hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, REFRESH_MS);
}
start();
