/**
 * Where the dashboard's memory and CPU go: preload into the real binary,
 *   VACM_PROF_OUT=/tmp/p VACM_PROF_MS=20000 node --import ./bench/ui-profile.mjs bin/vacm.js --demo --nodes 4096
 * After VACM_PROF_MS (default 20 s, after a 5 s warm-up) it writes <out>.heapprofile (sampled
 * allocations, garbage included: what each function allocates per second), <out>.cpuprofile, and
 * <out>.spaces.jsonl (V8 heap spaces and RSS each second). VACM_PROF_PROMOTED=1 leaves out what
 * died young (collected by a scavenge): what is left is what reached the old generation. Summarise with bench/ui-profile-top.mjs.
 */
import inspector from 'node:inspector/promises';
import fs from 'node:fs';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const out = process.env.VACM_PROF_OUT ?? `/tmp/vacm-prof-${process.pid}`;
const ms = Number(process.env.VACM_PROF_MS ?? 20000);
const warm = Number(process.env.VACM_PROF_WARM_MS ?? 5000);
// VACM_PROF_LIVE=1 (with VACM_PROF_WARM_MS=0): only what is still alive at the end, i.e. where the live heap was allocated
const live = process.env.VACM_PROF_LIVE === '1';
const session = new inspector.Session();
session.connect();
const spaces = fs.openSync(`${out}.spaces.jsonl`, 'w');
// time in GC since the last line: scavenges and full (mark-compact) collections, ms and count
const gc = { minorMs: 0, majorMs: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) { gc.majorMs += e.duration; gc.major++; }
    else gc.minorMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const tick = setInterval(() => {
  const s = Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.space_size / 1048576 * 10) / 10]));
  const m = process.memoryUsage();
  fs.writeSync(spaces, JSON.stringify({ ts: Date.now(), rss: Math.round(m.rss / 1048576), heapUsed: Math.round(m.heapUsed / 1048576), heapTotal: Math.round(m.heapTotal / 1048576), external: Math.round(m.external / 1048576), ab: Math.round(m.arrayBuffers / 1048576), ...s, gcMinorMs: Math.round(gc.minorMs), gcMajorMs: Math.round(gc.majorMs), major: gc.major }) + '\n');
  gc.minorMs = gc.majorMs = gc.major = 0;
}, 1000);
tick.unref();
// VACM_PROF_FLAGS: V8 flags set once running (v8.setFlagsFromString), to see which take effect
if (process.env.VACM_PROF_FLAGS) v8.setFlagsFromString(process.env.VACM_PROF_FLAGS);
// VACM_PROF_NONE=1: no profiles, only the spaces file (for a flag's effect on RSS without the profiler's own cost)
if (process.env.VACM_PROF_NONE === '1') setTimeout(() => fs.writeFileSync(`${out}.done`, `${ms}\n`), warm + ms).unref();
else setTimeout(async () => {
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: !live, includeObjectsCollectedByMinorGC: !live && process.env.VACM_PROF_PROMOTED !== '1' });
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  setTimeout(async () => {
    const { profile: hp } = await session.post('HeapProfiler.stopSampling');
    fs.writeFileSync(`${out}.heapprofile`, JSON.stringify(hp));
    const { profile: cp } = await session.post('Profiler.stop');
    fs.writeFileSync(`${out}.cpuprofile`, JSON.stringify(cp));
    fs.writeFileSync(`${out}.done`, `${ms}\n`);
  }, ms).unref();
}, warm).unref();
