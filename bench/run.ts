/**
 * `npm run bench`: every bench/*.bench.ts in turn (or those named: `npm run bench -- ssh icmp`).
 * Benchmarks print tables side by side with the real peers; they never assert and never fail the build.
 * How they measure and print (load average, interleaved runs, median and spread): bench/measure.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './measure.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
console.log(`# vacm benchmarks — ${new Date().toISOString()} — node ${process.version}, ${(await import('node:os')).cpus().length} cores, load average ${loadAverage()}`);
for (const f of files) {
  try {
    const mod = (await import(path.join(dir, f))) as { bench?: () => Promise<void> };
    if (typeof mod.bench === 'function') await mod.bench();
  } catch (err) {
    console.log(`\n(${f} could not run: ${(err as Error).message})`);
  }
}
console.log(`\n# done — ${new Date().toISOString()} — load average ${loadAverage()}`);
