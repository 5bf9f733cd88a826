// Meridian's live dashboard. Polls /dashboard/data (cumulative counters and
// gauges from this server's metrics registry), turns successive readings into
// rates and draws them with uPlot. Plain browser script: no build step.
(() => {
  'use strict';

  const TOKEN_KEY = 'meridian.adminToken';
  const POLL_MS = 2000;
  const WINDOW_MS = 15 * 60 * 1000;
  const DB_KINDS = ['select', 'insert', 'update', 'delete'];
  const NAMED_COLORS = {
    success: '#4cc38a',
    rotated: '#4cc38a',
    grace: '#5eb3f0',
    bad_credentials: '#f0716a',
    rejected: '#f0716a',
    reuse: '#e05bd0',
    locked: '#f2a65a',
    rate_limited: '#f2d45a',
    invalid_request: '#8a96a8',
    disabled: '#b08cf0',
    select: '#5eb3f0',
    insert: '#4cc38a',
    update: '#f2a65a',
    delete: '#f0716a',
    other: '#8a96a8',
  };
  const PALETTE = ['#5eb3f0', '#4cc38a', '#f2a65a', '#b08cf0', '#f0716a', '#f2d45a', '#4fd1c5', '#e05bd0'];
  const MUTED = '#8a96a8';
  const GRID = '#263041';

  const $ = (id) => document.getElementById(id);
  const charts = new Map();
  let samples = [];
  let timer = null;

  // ---- token ----------------------------------------------------------------

  function showAuth(message) {
    stopPolling();
    $('board').hidden = true;
    $('auth').hidden = false;
    $('auth-error').hidden = !message;
    $('auth-error').textContent = message || '';
    $('token').focus();
  }

  function showBoard() {
    $('auth').hidden = true;
    $('board').hidden = false;
    startPolling();
  }

  $('auth').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    showBoard();
  });

  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    samples = [];
    showAuth('');
  });

  // ---- data -----------------------------------------------------------------

  function setStatus(text, kind) {
    $('status').textContent = text;
    $('status-dot').className = `dot ${kind}`;
  }

  async function poll() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return showAuth('');
    const since = samples.length ? samples[samples.length - 1].t : 0;
    let res;
    try {
      res = await fetch(`/dashboard/data?since=${since}`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    } catch {
      setStatus('server unreachable, retrying', 'down');
      return;
    }
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showAuth('The server refused this token.');
    }
    if (!res.ok) {
      setStatus(`server answered ${res.status}, retrying`, 'down');
      return;
    }
    const body = await res.json();
    $('region').textContent = `region ${body.region}`;
    for (const s of body.samples) if (!samples.length || s.t > samples[samples.length - 1].t) samples.push(s);
    const newest = samples[samples.length - 1].t;
    samples = samples.filter((s) => s.t >= newest - WINDOW_MS);
    setStatus(`live · ${new Date().toLocaleTimeString()}`, 'live');
    render();
  }

  function startPolling() {
    if (timer) return;
    void poll();
    timer = setInterval(() => void poll(), POLL_MS);
  }

  function stopPolling() {
    clearInterval(timer);
    timer = null;
  }

  // ---- series ---------------------------------------------------------------

  const keysOf = (field) => [...new Set(samples.flatMap((s) => Object.keys(s[field] || {})))].sort();

  /** For each pair of successive samples, f(prev, cur, seconds) per key; null where f has no answer. */
  function perInterval(keys, f) {
    const x = [];
    const series = Object.fromEntries(keys.map((k) => [k, []]));
    for (let i = 1; i < samples.length; i++) {
      const prev = samples[i - 1];
      const cur = samples[i];
      const dt = (cur.t - prev.t) / 1000;
      if (dt <= 0) continue;
      x.push(cur.t / 1000);
      for (const k of keys) series[k].push(f(prev, cur, k, dt));
    }
    return { x, series };
  }

  /** Increase of a counter between two samples; a smaller value means the server restarted. */
  function increase(prev, cur, field, key) {
    const a = (prev[field] || {})[key] || 0;
    const b = (cur[field] || {})[key] || 0;
    return b >= a ? b - a : b;
  }

  const rates = (field) => perInterval(keysOf(field), (p, c, k, dt) => increase(p, c, field, k) / dt);

  function dbRates() {
    const raw = rates('dbQueries');
    const series = { select: [], insert: [], update: [], delete: [], other: [] };
    raw.x.forEach((_, i) => {
      for (const name of Object.keys(series)) series[name].push(0);
      for (const [kind, values] of Object.entries(raw.series)) {
        const name = DB_KINDS.includes(kind) ? kind : 'other';
        series[name][i] += values[i];
      }
    });
    return { x: raw.x, series: raw.x.length ? series : {} };
  }

  function cacheRatio() {
    const keys = [...new Set([...keysOf('cacheHits'), ...keysOf('cacheMisses')])].sort();
    return perInterval(keys, (p, c, k) => {
      const hits = increase(p, c, 'cacheHits', k);
      const total = hits + increase(p, c, 'cacheMisses', k);
      return total > 0 ? (100 * hits) / total : null;
    });
  }

  /** Hits over lookups across all operations, for the whole window shown. */
  function windowHitRatio() {
    if (samples.length < 2) return '–';
    const first = samples[0];
    const last = samples[samples.length - 1];
    const sum = (field) => keysOf(field).reduce((n, k) => n + increase(first, last, field, k), 0);
    const hits = sum('cacheHits');
    const total = hits + sum('cacheMisses');
    return total > 0 ? `${fmt((100 * hits) / total)} %` : '–';
  }

  function replicationLag() {
    return perInterval(keysOf('replicationLagCount'), (p, c, k) => {
      const n = increase(p, c, 'replicationLagCount', k);
      return n > 0 ? increase(p, c, 'replicationLagSum', k) / n : null;
    });
  }

  function gauge(field) {
    const keys = keysOf(field);
    return { x: samples.map((s) => s.t / 1000), series: Object.fromEntries(keys.map((k) => [k, samples.map((s) => (s[field] || {})[k] ?? null)])) };
  }

  // ---- drawing --------------------------------------------------------------

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1000) return `${(v / 1000).toFixed(1)}k`;
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  const fmtClock = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const fmtTime = (seconds) => (seconds === null ? '–' : new Date(seconds * 1000).toLocaleTimeString());

  const colorOf = (name, i) => NAMED_COLORS[name] || PALETTE[i % PALETTE.length];

  /** The legend shows the value under the cursor, or the latest one when the cursor is elsewhere. */
  function legendValue(u, v, sidx, idx) {
    if (idx !== null && idx !== undefined) return v;
    const values = u.data[sidx];
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i];
    return null;
  }

  // At least two minutes of time axis, so the first readings do not stretch it over years.
  const MIN_SPAN_S = 120;

  function options(el, names, yMax) {
    return {
      width: Math.max(300, el.clientWidth - 28),
      height: 220,
      series: [
        { label: 'time', value: (u, v, sidx, idx) => fmtTime(legendValue(u, v, sidx, idx)) },
        ...names.map((name, i) => ({
          label: name,
          stroke: colorOf(name, i),
          fill: `${colorOf(name, i)}1f`,
          width: 2,
          value: (u, v, sidx, idx) => fmt(legendValue(u, v, sidx, idx)),
        })),
      ],
      axes: [
        { stroke: MUTED, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }, space: 70, values: (u, ticks) => ticks.map(fmtClock) },
        { stroke: MUTED, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }, size: 56, values: (u, vals) => vals.map(fmt) },
      ],
      scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - MIN_SPAN_S), max] }, y: { range: (u, min, max) => [0, yMax ?? (max > 0 ? max * 1.15 : 1)] } },
      cursor: { drag: { x: false, y: false } },
    };
  }

  /** Draws one chart; recreates it when its set of series changes; shows "no data" when it has no points. */
  function draw(id, data, yMax) {
    const el = $(id);
    if (!el.firstChild) {
      const h = document.createElement('h2');
      h.textContent = el.dataset.title;
      const empty = document.createElement('div');
      empty.className = 'nodata';
      empty.textContent = 'no data';
      el.append(h, empty);
    }
    const names = Object.keys(data.series);
    const points = names.reduce((n, k) => n + data.series[k].filter((v) => v !== null).length, 0);
    el.dataset.points = String(points);
    el.querySelector('.nodata').hidden = points > 0;
    let chart = charts.get(id);
    if (chart && (points === 0 || chart.key !== names.join('|'))) {
      chart.plot.destroy();
      charts.delete(id);
      chart = undefined;
    }
    if (points === 0) return;
    const aligned = [data.x, ...names.map((k) => data.series[k])];
    if (chart) chart.plot.setData(aligned);
    else charts.set(id, { key: names.join('|'), plot: new uPlot(options(el, names, yMax), aligned, el) });
  }

  const TILE_SPAN_MS = 60_000;

  /** Per-second rate of a counter family (all keys together) over the last minute of readings. */
  function recentRate(field) {
    if (samples.length < 2) return null;
    const last = samples[samples.length - 1];
    const first = samples.find((s) => s.t >= last.t - TILE_SPAN_MS && s !== last) || samples[samples.length - 2];
    const dt = (last.t - first.t) / 1000;
    if (dt <= 0) return null;
    return keysOf(field).reduce((n, k) => n + increase(first, last, field, k), 0) / dt;
  }

  function render() {
    const logins = rates('logins');
    const refreshes = rates('refreshes');
    const cache = cacheRatio();
    const db = dbRates();
    draw('chart-logins', logins);
    draw('chart-refreshes', refreshes);
    draw('chart-cache', cache, 100);
    draw('chart-db', db);
    draw('chart-queue', gauge('queueBacklog'));
    draw('chart-replication', replicationLag());

    const latest = samples[samples.length - 1];
    $('tile-sessions').textContent = latest ? String(latest.activeSessions) : '–';
    $('tile-logins').textContent = fmt(recentRate('logins'));
    $('tile-refreshes').textContent = fmt(recentRate('refreshes'));
    $('tile-cache').textContent = windowHitRatio();
    $('tile-db').textContent = fmt(recentRate('dbQueries'));
    $('tile-pool').textContent = latest ? `${latest.pool.inUse} / ${latest.pool.max} (${latest.pool.waiting})` : '–';
  }

  window.addEventListener('resize', () => {
    for (const [id, chart] of charts) chart.plot.setSize({ width: Math.max(300, $(id).clientWidth - 28), height: 220 });
  });

  if (sessionStorage.getItem(TOKEN_KEY)) showBoard();
  else showAuth('');
})();
