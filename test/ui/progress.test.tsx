/** Issue 11 item 16: a running job shows its nodes by outcome (`done … · failed … · waiting …`) and a thin bar. */
import { describe, it, expect, afterEach } from 'vitest';
import { startApp } from './helpers.js';
import { jobProgress, progressBar, formatProgress } from '../../src/ui/format.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('a running job\'s summary', () => {
  it('folds the nodes by outcome, waiting last, and the bar is in proportion', () => {
    const targets = Array.from({ length: 40 }, (_, i) => `sim${String(i + 1).padStart(4, '0')}`);
    const outcomes = new Map<string, 'ok' | 'failed' | 'skipped'>(targets.slice(0, 20).map((t) => [t, 'ok']));
    outcomes.set('sim0031', 'failed');
    const parts = jobProgress({ targets }, outcomes);
    expect(formatProgress(parts)).toBe('done sim[0001-0020] (20) · failed sim0031 (1) · waiting sim[0021-0030,0032-0040] (19)');
    const bar = progressBar(parts, 40);
    expect(bar.map((s) => [s.label, s.text.length])).toEqual([['done', 20], ['failed', 1], ['waiting', 19]]);
    expect(bar.map((s) => s.text).join('')).toBe('━'.repeat(21) + '─'.repeat(19));
  });

  it('in the jobs pane while it runs, gone when it ends', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim008');
    // sim002 is down: skipped at once; the others sleep
    await app.engine.submit('SIM:FAIL:sim002:60').done;
    await app.waitFor('1 down');
    const slow = app.engine.submit('SSH:EXEC:sim[001-008]:sleep 2');
    const f = await app.waitFor(/skipped sim002 \(1\) · waiting sim\[001,003-008\] \(7\)/);
    expect(f).toMatch(/━+─{20,}/); // the thin bar: one of eight
    expect(f).toMatch(/#2 ▶ \d\/8 running  SSH:EXEC:sim\[001-008\]:s/);
    await slow.done;
    const g = await app.waitFor(/#2 [⚠✔] 8\/8 [^│]*  SSH:EXEC:sim\[001-008\]:s/);
    expect(g).not.toMatch(/waiting sim/);
    expect(g).not.toContain('━');
  });
});
