// The dashboard view: scrapes /metrics every second and shows engine state, throughput and latency.

import { authHeaders } from './api.js';
import { parseExposition, total, counterTotal, histogram, histogramQuantile } from './prometheus.js';
import { drawLineChart } from './charts.js';

const $ = id => document.getElementById(id);
const PREFIX = 'modular:';
const POLL_MS = 1000;
const WINDOW_MS = 120_000;
const MIN_WINDOW_MS = 30_000;

/** Time series kept for the charts, oldest first: {t, running, waiting, kv, prefix, tps}. */
const points = [];
let previous = null;
let visible = false;

export function initDashboard() {
  poll();
}

/** Called when the dashboard tab is shown or hidden (charts are only drawn while visible). */
export function setDashboardVisible(v) {
  visible = v;
  if (v) drawCharts();
}

async function poll() {
  try {
    // Normally open even under --api-key (as in vLLM); the stored key goes along in case a deployment closes it.
    const response = await fetch('/metrics', { headers: authHeaders(), cache: 'no-store' });
    if (!response.ok) throw new Error(`/metrics answered HTTP ${response.status}`);
    update(parseExposition(await response.text()), performance.now());
    setStatus('ok', 'connected');
  } catch (e) {
    setStatus('down', e.message);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

function setStatus(state, text) {
  const s = $('server-status');
  s.dataset.state = state;
  s.textContent = state === 'ok' ? '● live' : '● offline';
  s.title = text;
  $('metrics-status').textContent = state === 'ok'
    ? `Scraped /metrics at ${new Date().toLocaleTimeString()}; latency percentiles are estimated from histogram buckets since server start.`
    : `Metrics unavailable: ${text}`;
}

function ratioMean(samples, name) {
  let sum = 0, n = 0;
  for (const s of samples) if (s.name === name) { sum += s.value; n++; }
  return n ? sum / n : null;
}

function update({ samples }, now) {
  const current = {
    t: now,
    running: total(samples, PREFIX + 'num_requests_running'),
    waiting: total(samples, PREFIX + 'num_requests_waiting'),
    kv: ratioMean(samples, PREFIX + 'kv_cache_usage_perc'),
    generation: counterTotal(samples, PREFIX + 'generation_tokens'),
    prompt: counterTotal(samples, PREFIX + 'prompt_tokens'),
    queries: counterTotal(samples, PREFIX + 'prefix_cache_queries'),
    hits: counterTotal(samples, PREFIX + 'prefix_cache_hits'),
    finished: counterTotal(samples, PREFIX + 'request_success'),
  };
  // Rates need two scrapes; a counter that went down means the server restarted, so that interval is skipped.
  let tps = null, prefixRate = null;
  if (previous && current.generation !== null && previous.generation !== null && current.generation >= previous.generation)
    tps = (current.generation - previous.generation) / ((now - previous.t) / 1000);
  if (previous && current.queries !== null && previous.queries !== null) {
    const dq = current.queries - previous.queries, dh = current.hits - previous.hits;
    if (dq > 0 && dh >= 0) prefixRate = dh / dq;
  }
  previous = current;
  points.push({ t: now, running: current.running, waiting: current.waiting, kv: current.kv, prefix: prefixRate, tps });
  while (points.length && now - points[0].t > WINDOW_MS) points.shift();

  text('m-running', fmtInt(current.running));
  text('m-waiting', fmtInt(current.waiting));
  text('m-kv', fmtPercent(current.kv));
  text('m-prefix', current.queries ? fmtPercent(current.hits / current.queries) : '–');
  text('m-tps', tps === null ? '–' : tps.toFixed(1));
  text('m-gen-total', fmtInt(current.generation));
  text('m-prompt-total', fmtInt(current.prompt));
  text('m-finished', fmtInt(current.finished));
  latencyRow('lat-ttft', histogram(samples, PREFIX + 'time_to_first_token_seconds'));
  latencyRow('lat-itl', histogram(samples, PREFIX + 'inter_token_latency_seconds'));
  latencyRow('lat-e2e', histogram(samples, PREFIX + 'e2e_request_latency_seconds'));
  if (visible) drawCharts();
}

function latencyRow(id, h) {
  const cells = $(id).querySelectorAll('td');
  const values = h && h.count > 0
    ? [fmtSeconds(histogramQuantile(0.5, h)), fmtSeconds(histogramQuantile(0.9, h)), fmtSeconds(histogramQuantile(0.99, h)), fmtSeconds(h.sum / h.count), fmtInt(h.count)]
    : ['–', '–', '–', '–', h ? '0' : '–'];
  values.forEach((v, i) => { cells[i].textContent = v; });
}

function drawCharts() {
  if (!points.length) return;
  const now = points[points.length - 1].t;
  // The time axis grows with the history (30 s to 2 min), so a freshly opened dashboard is not a sliver at the right.
  const windowMs = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.ceil((now - points[0].t) / 10_000) * 10_000));
  const opts = { now, windowMs };
  const series = (key, label, cls) => ({ label, cls, points: points.map(p => ({ t: p.t, v: p[key] })) });
  drawLineChart($('chart-requests'), [series('running', 'running', 's1'), series('waiting', 'waiting', 's2')], { ...opts, format: v => String(v) });
  drawLineChart($('chart-kv'), [series('kv', 'KV usage', 's1')], { ...opts, max: 1, format: fmtPercent });
  drawLineChart($('chart-prefix'), [series('prefix', 'hit rate', 's3')], { ...opts, max: 1, format: fmtPercent });
  drawLineChart($('chart-tps'), [series('tps', 'tok/s', 's4')], { ...opts, format: v => v.toFixed(0) });
}

function text(id, value) { $(id).textContent = value; }
function fmtInt(v) { return v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'); }
function fmtPercent(v) { return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`; }
function fmtSeconds(s) {
  if (s === null || !Number.isFinite(s)) return '–';
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms` : `${s.toFixed(2)} s`;
}
