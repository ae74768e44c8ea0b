// Small inline SVG line charts: no library, redrawn whole on every scrape (a few hundred points at most).

const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * Draws series [{label, cls, points: [{t, v}]}] over the time window [now - windowMs, now] into `container`.
 * A null v breaks the line (no data in that interval). `max` fixes the top of the y axis (e.g. 1 for ratios);
 * otherwise it follows the data. `format` writes axis values.
 */
export function drawLineChart(container, series, { now, windowMs, max = null, format = v => String(v) }) {
  const width = Math.max(240, Math.round(container.clientWidth || 320));
  const height = 120;
  const pad = { left: 44, right: 8, top: 8, bottom: 18 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  let top = max;
  if (top === null) {
    top = 0;
    for (const s of series) for (const p of s.points) if (p.v !== null && p.v > top) top = p.v;
    top = niceCeiling(top);
  }
  const x = t => pad.left + plotW * (1 - (now - t) / windowMs);
  const y = v => pad.top + plotH * (1 - Math.min(v, top) / top);

  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  svg.appendChild(el('line', { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: 'axis' }));
  svg.appendChild(el('line', { x1: pad.left, y1: y(top), x2: width - pad.right, y2: y(top), class: 'grid' }));
  for (const [v, dy] of [[0, 4], [top, 4]]) {
    const label = el('text', { x: pad.left - 4, y: y(v) + dy, class: 'tick', 'text-anchor': 'end' });
    label.textContent = format(v);
    svg.appendChild(label);
  }
  const ago = el('text', { x: pad.left, y: height - 4, class: 'tick' });
  ago.textContent = `-${Math.round(windowMs / 1000)} s`;
  svg.appendChild(ago);
  const nowLabel = el('text', { x: width - pad.right, y: height - 4, class: 'tick', 'text-anchor': 'end' });
  nowLabel.textContent = 'now';
  svg.appendChild(nowLabel);

  const legend = [];
  for (const s of series) {
    // Consecutive non-null points form one polyline; a null starts a new one.
    let run = [];
    const flush = () => {
      if (run.length === 1) svg.appendChild(el('circle', { cx: run[0][0], cy: run[0][1], r: 2, class: `dot ${s.cls}` }));
      else if (run.length > 1) svg.appendChild(el('polyline', { points: run.map(p => p.join(',')).join(' '), class: `line ${s.cls}` }));
      run = [];
    };
    for (const p of s.points) {
      if (now - p.t > windowMs) continue;
      if (p.v === null || !Number.isFinite(p.v)) { flush(); continue; }
      run.push([x(p.t).toFixed(1), y(p.v).toFixed(1)]);
    }
    flush();
    legend.push(s.label);
  }
  if (series.length > 1) {
    let lx = pad.left + 6;
    for (const s of series) {
      const t = el('text', { x: lx, y: pad.top + 10, class: `legend ${s.cls}` });
      t.textContent = s.label;
      svg.appendChild(t);
      lx += 8 * s.label.length + 16;
    }
  }
  container.replaceChildren(svg);
}

// 1, 2, 5 x 10^k at or above v, so the axis reads well; 1 for an all-zero chart.
function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
