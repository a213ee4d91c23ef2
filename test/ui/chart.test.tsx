/** Issue 11 item 12: the detail pane's load chart has Y labels, a dotted line at load = CPUs, the span under it, +/- zoom and every row the pane has. */
import { describe, it, expect, afterEach } from 'vitest';
import { startApp } from './helpers.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

/** the detail pane's text on each line of the screen (after the left pane's border) */
const detail = (f: string) => f.split('\n').map((l) => (l.includes('││') ? l.slice(l.indexOf('││') + 2) : ''));
/** the chart's plot rows: from its top label down to the span line */
const plotRows = (f: string) => {
  const d = detail(f);
  const top = d.findIndex((l) => /^\d+(\.\d)? +[\u2800-\u28ff ]*│?\s*$/.test(l));
  const axis = d.findIndex((l) => /-60s/.test(l));
  return top >= 0 && axis > top ? axis - top : 0;
};

describe('the load chart', () => {
  it('Y labels, the CPU count on its dotted line, the span under it; + and - change the span', async () => {
    app = await startApp({ columns: 120, rows: 40 });
    // sim001 has 16 cpus: the scale is 20 (16 and a quarter, rounded up)
    let f = await app.waitFor((x) => /-60s +-30s +now/.test(x) && /[\u2801-\u28ff]/.test(x));
    const d = detail(f);
    expect(d.some((l) => /^20 +│/.test(l))).toBe(true); // the scale's top, no sample up there
    expect(d.some((l) => /^16 (⠁⠈ |⠂⠐ |⠄⠠ |⡀⢀ ){4}/.test(l))).toBe(true); // the dotted line at 16 CPUs
    expect(d.some((l) => /^ 0 [\u2800-\u28ff ]*[\u2801-\u28ff]/.test(l))).toBe(true); // sim001 idles near 0
    await app.press('-');
    f = await app.waitFor(/-5m +-2m30s +now/);
    expect(f).toContain('load chart: the last 5m');
    await app.press('-');
    await app.waitFor(/-1h +-30m +now/);
    await app.press('-', '-');
    f = await app.waitFor(/-24h +-12h +now/);
    expect(f).toContain('load chart: the last 24h (the longest span)');
    await app.press('+', '+', '+');
    await app.waitFor(/-60s +-30s +now/);
  });

  it('takes every row the pane has: more rows in a taller terminal', async () => {
    const rowsAt = async (rows: number) => {
      app = await startApp({ columns: 120, rows });
      const f = await app.waitFor(/-60s +-30s +now/);
      const n = plotRows(f);
      await app.stop();
      app = undefined;
      return n;
    };
    const small = await rowsAt(24);
    const big = await rowsAt(40);
    expect(small).toBeGreaterThanOrEqual(2);
    expect(big).toBeGreaterThan(small);
  });
});
