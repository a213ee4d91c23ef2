/**
 * The one place benchmarks measure and print. The machine is shared, so a number alone says little:
 * every table states the load average when it started and when it ended; peer and vacm run
 * interleaved (A B A B ..., so that a burst of someone else's load hits both); each cell is the
 * median of the runs with their range (lowest–highest); and a comparison whose spread is larger than
 * the difference it claims (the ranges overlap) is marked `~`. Benchmarks print; they never assert and never fail a build.
 */
import os from 'node:os';

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** A markdown table. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '| ' + head.map((_, i) => (cells[i] ?? '').padEnd(w[i])).join(' | ') + ' |';
  return [line(head), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

/** Median of numbers (NaN for none). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The runs of one case: median, lowest, highest. */
export interface Runs {
  median: number;
  lo: number;
  hi: number;
  samples: number[];
}

export function runs(samples: number[]): Runs {
  const ok = samples.filter(Number.isFinite);
  return { median: median(ok), lo: ok.length ? Math.min(...ok) : NaN, hi: ok.length ? Math.max(...ok) : NaN, samples: ok };
}

/** max − min of the runs. */
export const spread = (r: Runs): number => r.hi - r.lo;

/**
 * Run every case once per round, in the same order, for `rounds` rounds (A B A B, not A A B B), after
 * `warmup` unmeasured rounds. A case returns the number it measured (seconds, jobs/s, CPU %...), or
 * undefined when it cannot run here (a missing peer). The result maps each case to its runs, or to
 * undefined when it never ran.
 */
export async function interleave<K extends string>(
  cases: Record<K, (() => number | undefined | Promise<number | undefined>) | undefined>,
  rounds: number,
  opts: { warmup?: number } = {},
): Promise<Record<K, Runs | undefined>> {
  const keys = Object.keys(cases) as K[];
  const samples = new Map<K, number[]>(keys.map((k) => [k, []]));
  for (let r = -(opts.warmup ?? 0); r < rounds; r++) {
    for (const k of keys) {
      const f = cases[k];
      if (!f) continue;
      const v = await f();
      if (r >= 0 && v !== undefined) samples.get(k)!.push(v);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, samples.get(k)!.length ? runs(samples.get(k)!) : undefined])) as Record<K, Runs | undefined>;
}

/**
 * How a bench starts a vacm launcher (this checkout's bin/vacm.js, or VACM_BENCH_BEFORE's): as an
 * operator does, the file run as a program (what the `vacm` on PATH and the npm bin link are), not
 * `node bin/vacm.js`, which skips the launcher's shell line (docs/decisions.md "The launcher": node
 * starts without NODE_EXTRA_CA_CERTS). Node flags (a profile) need node's own command line.
 */
export function vacmCommand(bin: string, args: readonly string[], nodeFlags: readonly string[] = []): [string, string[]] {
  return nodeFlags.length ? [process.execPath, [...nodeFlags, bin, ...args]] : [bin, [...args]];
}

/** Seconds a function takes (sync or async), as a number for interleave. */
export async function seconds(f: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** `0.123 (0.110–0.140)`: the median and the range of the runs. */
export function cell(r: Runs | undefined, digits = 3, unit = ''): string {
  if (!r) return 'n/a';
  const f = (x: number) => x.toFixed(digits);
  return r.samples.length > 1 ? `${f(r.median)}${unit} (${f(r.lo)}–${f(r.hi)})` : `${f(r.median)}${unit}`;
}

/** The mark for a row whose spread is larger than the difference it claims. */
export const NOISY = '~';

/**
 * Is the difference between the medians inside the noise? For a above b: when a's spread below its
 * median plus b's spread above its median is at least the difference (a.median − b.median), i.e. the
 * two cases' ranges overlap and the runs do not separate them. Against a fixed number (an aim): when
 * the number lies inside the range.
 */
export function noisy(a: Runs, b: Runs | number): boolean {
  const br = typeof b === 'number' ? { lo: b, hi: b } : b;
  return a.lo <= br.hi && br.lo <= a.hi;
}

/** `1.32×` (a's median over b's), marked `~` when the spreads are larger than the difference. */
export function ratio(a: Runs | undefined, b: Runs | undefined): string {
  if (!a || !b || !(b.median > 0)) return 'n/a';
  if (a === b) return '1× (itself)';
  return `${(a.median / b.median).toFixed(2)}×${noisy(a, b) ? ` ${NOISY}` : ''}`;
}

/** Against an aim: `meets` or `misses`, marked `~` when the spread is larger than the distance to the aim. */
export function versusAim(r: Runs | undefined, aim: number, better: 'lower' | 'higher'): string {
  if (!r) return 'n/a';
  const meets = better === 'lower' ? r.median <= aim : r.median >= aim;
  return `${meets ? 'meets' : 'misses'}${noisy(r, aim) ? ` ${NOISY}` : ''}`;
}

/**
 * A table section: created before the first run (it notes the load average), printed after the last
 * (it notes it again). Notes are printed under the table, after the legend of the cells (left out,
 * `legend: false`, for a table of one run that says itself how to read it).
 */
export function section(title: string): { print(head: string[], rows: string[][], notes?: string[], opts?: { legend?: boolean }): void } {
  const start = loadAverage();
  const t0 = Date.now();
  return {
    print(head, rows, notes = [], opts = {}) {
      console.log(`\n### ${title}\n`);
      console.log(`load average at start ${start}, at end ${loadAverage()} (${os.cpus().length} cores, ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      console.log(table(head, rows));
      if (opts.legend !== false) console.log(`\nCells: median (lowest–highest) of interleaved runs. ${NOISY} marks a comparison where the spread is larger than the difference it claims (the two ranges overlap, or the aim lies inside the range).`);
      for (const n of notes) console.log(`\n${n}`);
    },
  };
}
