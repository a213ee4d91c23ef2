/**
 * Preloaded into the `vacm serve` that bench/collector.bench.ts measures (`node --import` this file):
 * the event loop's delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and the GC pauses
 * (PerformanceObserver 'gc') over the measured window, which is where a drop comes from (the process
 * did not read the socket for longer than its receive buffer lasts). The first SIGUSR2 starts the
 * window, the second ends it; on exit it writes one JSON object to $VACM_BENCH_LOOP_FILE:
 * {maxMs, p99Ms, meanMs, perSecondMaxMs[], gc: {count, totalMs, maxMs, major, majorMs, majorMaxMs}}.
 * Nothing here changes what serve does; plain JavaScript, so that both builds of a before/after take it.
 */
import fs from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.VACM_BENCH_LOOP_FILE;
if (file) {
  const whole = monitorEventLoopDelay({ resolution: 10 });
  const second = monitorEventLoopDelay({ resolution: 10 });
  let perSecond = [];
  let gcs = [];
  let on = false;
  let result;
  const obs = new PerformanceObserver((list) => {
    if (!on) return;
    for (const e of list.getEntries()) gcs.push({ ms: e.duration, major: e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR });
  });
  obs.observe({ entryTypes: ['gc'] });
  const tick = setInterval(() => {
    if (!on) return;
    perSecond.push(second.max / 1e6);
    second.reset();
  }, 1000);
  tick.unref();
  process.on('SIGUSR2', () => {
    if (on) {
      on = false;
      result = summary();
      return;
    }
    whole.enable();
    second.enable();
    whole.reset();
    second.reset();
    perSecond = [];
    gcs = [];
    on = true;
  });
  const summary = () => {
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    const major = gcs.filter((g) => g.major);
    return {
      maxMs: whole.max / 1e6,
      p99Ms: whole.percentile(99) / 1e6,
      meanMs: whole.mean / 1e6,
      perSecondMaxMs: perSecond,
      gc: { count: gcs.length, totalMs: sum(gcs.map((g) => g.ms)), maxMs: Math.max(0, ...gcs.map((g) => g.ms)), major: major.length, majorMs: sum(major.map((g) => g.ms)), majorMaxMs: Math.max(0, ...major.map((g) => g.ms)) },
    };
  };
  process.on('exit', () => {
    if (result) fs.writeFileSync(file, JSON.stringify(result));
  });
}
