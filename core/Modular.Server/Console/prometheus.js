// Prometheus text exposition (format 0.0.4): parsing, and the few aggregations the dashboard needs.

/**
 * Parses exposition text into samples {name, labels, value} and a map of family name -> type.
 * Throws Error naming the line for malformed input, so a broken /metrics shows up as such on the page.
 */
export function parseExposition(text) {
  const samples = [];
  const types = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    samples.push(parseSample(line, i + 1));
  }
  return { samples, types };
}

function parseSample(line, lineNo) {
  let pos = 0;
  while (pos < line.length && line[pos] !== '{' && line[pos] !== ' ' && line[pos] !== '\t') pos++;
  const name = line.slice(0, pos);
  if (!name) throw new Error(`metrics line ${lineNo}: no metric name in '${line}'`);
  const labels = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') { pos++; break; }
      const eq = line.indexOf('=', pos);
      if (eq < 0 || line[eq + 1] !== '"') throw new Error(`metrics line ${lineNo}: bad label set in '${line}'`);
      const key = line.slice(pos, eq).trim();
      let value = '';
      pos = eq + 2;
      for (;;) {
        if (pos >= line.length) throw new Error(`metrics line ${lineNo}: unterminated label value in '${line}'`);
        const c = line[pos++];
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          value += e === 'n' ? '\n' : e;
        } else value += c;
      }
      labels[key] = value;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  if (Number.isNaN(value) && rest[0] !== 'NaN') throw new Error(`metrics line ${lineNo}: bad value '${rest[0]}'`);
  return { name, labels, value };
}

function parseValue(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return s === undefined || s === '' ? NaN : Number(s);
}

/** Sum of every series named `name` (all label sets, e.g. all models); null when there is none. */
export function total(samples, name) {
  let sum = 0, seen = false;
  for (const s of samples) if (s.name === name) { sum += s.value; seen = true; }
  return seen ? sum : null;
}

/** A counter's total across series, accepting the name with or without the conventional _total suffix. */
export function counterTotal(samples, name) {
  return total(samples, name.endsWith('_total') ? name : name + '_total') ?? total(samples, name.replace(/_total$/, ''));
}

/**
 * A histogram summed across label sets: {buckets: [{le, count}] cumulative and sorted by le, sum, count};
 * null when the exposition has no such histogram.
 */
export function histogram(samples, name) {
  const byLe = new Map();
  for (const s of samples) {
    if (s.name !== name + '_bucket') continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) || 0) + s.value);
  }
  if (byLe.size === 0) return null;
  const buckets = [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, sum: total(samples, name + '_sum') ?? 0, count: total(samples, name + '_count') ?? buckets[buckets.length - 1].count };
}

/** Bucket-wise difference a - b of two histograms with the same bounds (observations between two scrapes). */
export function histogramDelta(a, b) {
  if (!a || !b || a.buckets.length !== b.buckets.length) return a;
  const buckets = a.buckets.map((x, i) => ({ le: x.le, count: Math.max(0, x.count - b.buckets[i].count) }));
  return { buckets, sum: a.sum - b.sum, count: a.count - b.count };
}

/**
 * Estimates the q-quantile (0..1) from cumulative buckets the way Prometheus' histogram_quantile does: find the
 * bucket holding rank q*count and interpolate linearly inside it, assuming observations spread evenly there.
 * The lowest bucket starts at 0; a rank in the +Inf bucket answers the highest finite bound. null when empty.
 */
export function histogramQuantile(q, h) {
  if (!h || h.buckets.length === 0) return null;
  const buckets = h.buckets;
  const count = buckets[buckets.length - 1].count;
  if (!(count > 0)) return null;
  const rank = q * count;
  let i = 0;
  while (i < buckets.length - 1 && buckets[i].count < rank) i++;
  const upper = buckets[i].le;
  if (upper === Infinity) return i > 0 ? buckets[i - 1].le : null;
  const lower = i > 0 ? buckets[i - 1].le : 0;
  const below = i > 0 ? buckets[i - 1].count : 0;
  const inBucket = buckets[i].count - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
