/**
 * Plain text helpers for the dashboard: padding to a width, sparklines, durations and ages, the
 * header's clock and the visible window of a list. Pure: the panes and the other format modules use them.
 */

const SPARKS = '▁▂▃▄▅▆▇█';

/** Pad or cut to exactly `w` columns (our strings are single-width: names, digits, block glyphs). */
export function fit(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return w === 1 ? s.slice(0, 1) : s.slice(0, w - 1) + '…';
  return s + ' '.repeat(w - s.length);
}

export function fitLeft(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return s.slice(s.length - w);
  return ' '.repeat(w - s.length) + s;
}

/**
 * A sparkline of the last `width` samples, scaled to `max` (a node's CPU count makes load comparable
 * across nodes); left-padded with spaces when there are fewer samples.
 */
export function sparkline(samples: readonly number[], width: number, max?: number): string {
  if (width <= 0) return '';
  const tail = samples.length > width ? samples.slice(samples.length - width) : samples;
  const top = max && max > 0 ? max : Math.max(1e-9, ...tail);
  let out = '';
  for (const v of tail) {
    const i = Math.max(0, Math.min(SPARKS.length - 1, Math.floor((v / top) * SPARKS.length)));
    out += SPARKS[i];
  }
  return ' '.repeat(width - tail.length) + out;
}

/** `13 s ago`, `4 min ago`, `2 h ago`: how old a reading is, in the words an operator reads at a glance. */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

// ---- header --------------------------------------------------------------------------------------

export function formatClock(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---- the visible window of a list ----------------------------------------------------------------

/** First index to show so that `cursor` is visible in a window of `height` rows over `total` items. */
export function windowStart(cursor: number, height: number, total: number, prevStart: number): number {
  if (height <= 0 || total <= height) return 0;
  let start = Math.min(Math.max(0, prevStart), total - height);
  if (cursor < start) start = cursor;
  else if (cursor >= start + height) start = cursor - height + 1;
  return Math.max(0, Math.min(start, total - height));
}
