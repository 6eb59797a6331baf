// Parley's dashboard: polls the admin port's JSON (/admin/timeline for the last hour's points, /admin/overview
// for the tables) and draws it with uPlot. No build step, no network beyond the Parley that serves it.
"use strict";

const REFRESH_MS = 2000;
const HOUR_MS = 3600 * 1000;
const state = { points: [], refreshes: 0, charts: {}, key: sessionStorage.getItem("parley-admin-key") || "" };
window.parleyDashboard = state; // for a look from the browser's console (and the browser test)

if (location.hash.startsWith("#key=")) {
  state.key = decodeURIComponent(location.hash.slice(5));
  sessionStorage.setItem("parley-admin-key", state.key);
  history.replaceState(null, "", location.pathname);
}

document.getElementById("key-form").addEventListener("submit", event => {
  event.preventDefault();
  state.key = document.getElementById("key").value;
  sessionStorage.setItem("parley-admin-key", state.key);
  document.getElementById("key-form").hidden = true;
  refresh();
});

async function fetchJson(path) {
  const headers = state.key ? { Authorization: "Bearer " + state.key } : {};
  const response = await fetch(path, { headers });
  if (response.status === 401) {
    document.getElementById("key-form").hidden = false;
    throw new Error("the admin key is missing or wrong");
  }
  if (!response.ok) {
    throw new Error(path + " answered " + response.status);
  }
  return response.json();
}

const CHARTS = {
  throughput: { series: [["requests/s", "requests_per_second", "#2b6cb0"], ["5xx/s", "errors_per_second", "#c0392b"]] },
  latency: { series: [["p50", "p50_ms", "#38a169"], ["p95", "p95_ms", "#d69e2e"], ["p99", "p99_ms", "#c0392b"]] },
  cache: { series: [["hit rate", "cache_hit_ratio", "#805ad5"]], range: [0, 1] },
  pool: { series: [["in use", "pool_active", "#2b6cb0"], ["waiting", "pool_waiting", "#c0392b"]] },
  slow: { series: [["slow/s", "slow_queries_per_second", "#c0392b"]] },
  storage: { series: [["MB", "database_bytes", "#4a5568"]], scale: 1 / (1024 * 1024) },
};

function chartData(spec) {
  const times = state.points.map(p => Date.parse(p.time) / 1000);
  const columns = spec.series.map(([, field]) => state.points.map(p => p[field] == null ? null : p[field] * (spec.scale || 1)));
  return [times, ...columns];
}

// A reading with a gap on each side (the cache read in one step and not the next) has no line to draw, and uPlot
// draws points only where they are few: such a reading is drawn as a point, or it would not show at all.
function lonePoints(chart, seriesIndex, show) {
  if (show) {
    return null; // every point is drawn already
  }
  const values = chart.data[seriesIndex];
  const lone = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) lone.push(i);
  }
  return lone.length === 0 ? null : lone;
}

function draw() {
  for (const [name, spec] of Object.entries(CHARTS)) {
    const data = chartData(spec);
    if (state.charts[name]) {
      state.charts[name].setData(data);
      continue;
    }
    const figure = document.getElementById("chart-" + name);
    const options = {
      width: Math.max(figure.clientWidth - 16, 300), height: 200,
      series: [{}, ...spec.series.map(([label, , stroke]) => ({ label, stroke, width: 2, points: { filter: lonePoints } }))],
      scales: spec.range ? { y: { range: spec.range } } : {},
      axes: [{}, { size: 60 }],
    };
    state.charts[name] = new uPlot(options, data, figure);
  }
}

function text(id, value, level) {
  const element = document.getElementById(id);
  element.textContent = value;
  if (level !== undefined) {
    element.parentElement.className = "tile " + level;
  }
}

const fixed = (value, digits) => Number(value).toFixed(digits);
const percent = ratio => fixed(ratio * 100, 1) + " %";
function bytes(value) { // by its size, a shrinking database's growth too: not "-5242880 B"
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  for (; Math.abs(value) >= 1024 && i < units.length - 1; i++) value /= 1024;
  return fixed(value, i === 0 ? 0 : 1) + " " + units[i];
}

function rows(tableId, items, cells) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren(...items.map(item => {
    const row = document.createElement("tr");
    for (const cell of cells(item)) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.append(td);
    }
    return row;
  }));
}

function show(overview) {
  const pool = overview.pool;
  const requests = overview.requests;
  const hits = overview.caches.filter(c => c.per_second > 0);
  const hitRatio = hits.length === 0 ? null
    : hits.reduce((sum, c) => sum + c.hit_ratio * c.per_second, 0) / hits.reduce((sum, c) => sum + c.per_second, 0);
  text("tile-rate", fixed(requests.per_second, 1));
  text("tile-errors", fixed(requests.errors_per_second, 2), requests.errors_per_second > 0 ? "bad" : "");
  text("tile-p99", fixed(requests.p99_ms, 1), requests.p99_ms > 1000 ? "bad" : requests.p99_ms > 100 ? "warn" : "");
  text("tile-cache", hitRatio === null ? "–" : percent(hitRatio), hitRatio !== null && hitRatio < 0.8 ? "warn" : "");
  const used = pool.size === 0 ? 0 : pool.active / pool.size;
  text("tile-pool", pool.active + " / " + pool.size, used > 0.8 ? "bad" : used > 0.6 ? "warn" : "");
  text("tile-slow", overview.slow_queries, overview.slow_queries > 0 ? "warn" : "");
  text("tile-db-hit", percent(overview.database.cache_hit_ratio), overview.database.cache_hit_ratio < 0.95 ? "warn" : "");
  text("tile-size", bytes(overview.database.size_bytes));
  rows("routes", overview.routes.slice(0, 12), r => [r.route, fixed(r.per_second, 1), fixed(r.p50_ms, 1),
    fixed(r.p95_ms, 1), fixed(r.p99_ms, 1), fixed(r.errors_per_second, 2)]);
  rows("statements", overview.statements, s => [s.query, fixed(s.per_second, 1), fixed(s.mean_ms, 2), fixed(s.p99_ms, 1)]);
  rows("tables", overview.database.tables.filter(t => t.bytes > 0).sort((a, b) => b.bytes - a.bytes).slice(0, 12),
    t => [t.schema === "public" ? t.table : t.schema + "." + t.table, bytes(t.bytes), percent(t.dead_ratio)]);
  const db = overview.database;
  const lag = db.replicas.length === 0 ? "no standbys" : db.replicas.map(r => r.name + " " + fixed(r.lag_seconds, 1) + " s").join(", ");
  rows("database", [
    ["reading", db.stale ? "none for " + fixed(db.reading_age_seconds, 0) + " s: PostgreSQL's statistics cannot be read; "
      + "below, the last ones" : fixed(db.reading_age_seconds, 0) + " s old"],
    ["connections", Object.entries(db.connections).filter(([, n]) => n > 0).map(([s, n]) => s + " " + n).join(", ")],
    ["transactions/s", fixed(db.transactions_per_second, 1)],
    ["rollbacks/s", fixed(db.rollbacks_per_second, 2)],
    ["WAL", bytes(db.wal_bytes_per_second) + "/s"],
    ["growth", bytes(db.growth_bytes_per_hour) + "/h"],
    ["oldest transaction", fixed(db.oldest_transaction_seconds, 1) + " s"],
    ["lock waits", db.lock_waits],
    ["deadlocks", db.deadlocks],
    ["replication lag", lag],
  ], row => row);
}

async function refresh() {
  try {
    const last = state.points.length === 0 ? null : state.points[state.points.length - 1].time;
    const timeline = await fetchJson("/admin/timeline" + (last ? "?since=" + encodeURIComponent(last) : ""));
    const cutoff = Date.now() - HOUR_MS;
    state.points = state.points.concat(timeline.points).filter(p => Date.parse(p.time) >= cutoff);
    const overview = await fetchJson("/admin/overview");
    draw();
    show(overview);
    state.refreshes++;
    document.getElementById("status").textContent = "live";
    document.getElementById("status").className = "status ok";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString()
      + " · up " + fixed(overview.uptime_seconds / 60, 0) + " min";
  } catch (error) {
    document.getElementById("status").textContent = error.message;
    document.getElementById("status").className = "status bad";
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
