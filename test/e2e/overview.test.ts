/**
 * Issue 11 items 9 and 12 in the real binary: the 1024-node overview (legend, a labelled row per
 * rack, n to the node down) and the detail pane's chart (axes, the span, +/- zoom), at 80x24 and 200x60.
 */
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

describe.skipIf(!tmuxAvailable())('the overview and the chart in tmux (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  for (const [columns, rows] of [[80, 24], [200, 60]] as const) {
    it(`${columns}x${rows}: a legend, one row per rack, and n lands on the node made to fail`, async () => {
      const tmux = session(`ov${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 1024', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      let s = await tmux.waitFor('NODES 1025 · overview', 30_000);
      expect(s).toContain('0-9 load/CPU  X down  . off  ? unknown');
      expect(s).toMatch(/│rack1 +[0-9X.?]{32} /);
      expect(s).toMatch(/│rack2 +[0-9X.?]{32} /);
      for (const l of s.split('\n')) expect([...l].length).toBeLessThanOrEqual(columns);
      // the demo's own failures come and go: fail one node for 10 minutes, then n finds it
      tmux.keys(':');
      await tmux.waitFor('Tab complete');
      tmux.type('SIM:FAIL:sim0500:600');
      tmux.keys('Enter');
      await tmux.waitFor('y/Enter confirm');
      tmux.keys('y');
      await tmux.waitFor(/#\d+ ✔ SIM:FAIL/);
      // other nodes may be down too (the demo fails some at random): n walks them in order
      // (each step waits for the status line to name another node: a capture of the screen before
      // ink drew the step would otherwise count as a step, and under load the walk fell short)
      let found = false;
      let at = '';
      for (let i = 0; i < 300 && !found; i++) {
        tmux.keys('n');
        s = await tmux.waitFor((x) => {
          const m = /overview · (sim\d+) (down|unknown)/.exec(x);
          return m !== null && m[1] !== at;
        });
        at = /overview · (sim\d+)/.exec(s)?.[1] ?? '';
        found = /overview · sim0500 down/.test(s);
      }
      expect(found).toBe(true);
      // the cursor cell is on rack16's row (sim0481-sim0512)
      const row = s.split('\n').find((l) => /│rack16 /.test(l));
      expect(row).toMatch(/rack16 +[0-9X.?]{19}X/);
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 150_000);

    it(`${columns}x${rows}: the chart has Y labels and the span under it; + and - change the span`, async () => {
      const tmux = session(`ch${columns}`);
      tmux.start('node bin/vacm.js --demo', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor('sim005', 30_000);
      tmux.keys('j'); // sim001 (16 cpus), under this machine
      let s = await tmux.waitFor((x) => /● sim001 up/.test(x) && /-60s .* now│/.test(x));
      const part = (x: string) => x.split('\n').map((l) => (l.includes('││') ? l.slice(l.indexOf('││') + 2) : ''));
      expect(part(s).some((l) => /^16 [\u2800-\u28ff]/.test(l))).toBe(true); // the CPU count on its dotted line
      expect(part(s).some((l) => /^ 0 [\u2800-\u28ff ]+│/.test(l))).toBe(true);
      tmux.keys('-');
      s = await tmux.waitFor(/-5m .* now│/);
      tmux.keys('-');
      s = await tmux.waitFor(/-1h .* now│/);
      tmux.keys('-');
      s = await tmux.waitFor(/-24h .* now│/);
      expect(s).not.toMatch(/-60s/);
      tmux.keys('+', '+', '+');
      await tmux.waitFor(/-60s .* now│/);
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 90_000);
  }
});
