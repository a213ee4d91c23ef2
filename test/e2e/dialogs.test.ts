/**
 * The real `vacm --demo` in tmux at 80x24 (the documented minimum) and 200x60: every dialog is an
 * overlay whose captured screen is, word for word, what was drawn (help, the power menu, a
 * confirmation with warnings), and a job where every node failed says so.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { Tmux, hasBinary } from './tmux.js';
import { activeKeymaps, helpLines } from '../../src/ui/keymaps.js';
import { helpSpec } from '../../src/ui/panes/Dialogs.js';
import { mainRows, overlayMismatches } from '../ui/overlay-check.js';

const maps = activeKeymaps(false);

describe.skipIf(!hasBinary('tmux'))('dialogs of vacm --demo in tmux (needs tmux: apt-get install tmux)', () => {
  const sessions: Tmux[] = [];
  const session = (name: string) => {
    const t = new Tmux(name);
    sessions.push(t);
    return t;
  };
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }, 120_000);
  afterAll(() => {
    for (const t of sessions) t.kill();
  });

  for (const [columns, rows] of [[80, 24], [200, 60]] as const) {
    it(`help at ${columns}x${rows}: clean (the screen is what was drawn), scrolls and searches`, async () => {
      const tmux = session(`help${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('sim008') && x.includes('? help'));
      const spec = (scroll: number, search = '') => helpSpec(maps, { kind: 'help', scroll, search, searching: false }, mainRows(columns, rows));
      const total = helpLines(maps).length;
      const body = Math.min(total, mainRows(columns, rows) - 3);
      tmux.keys('?');
      let s = await tmux.waitFor('HELP ·');
      s = await tmux.waitFor((x) => overlayMismatches(x, spec(0), columns, rows).length === 0, 5000).catch(() => s);
      expect(overlayMismatches(s, spec(0), columns, rows)).toEqual([]);
      if (body < total) {
        tmux.keys('PageDown');
        s = await tmux.waitFor(`lines ${body}-`);
        expect(overlayMismatches(s, spec(body - 1), columns, rows)).toEqual([]);
        tmux.keys('G');
        s = await tmux.waitFor(`-${total} of ${total}`);
        expect(overlayMismatches(s, spec(total), columns, rows)).toEqual([]);
      } else expect(s).toContain(`HELP · ${total} lines`);
      tmux.keys('/');
      await tmux.waitFor('search help:');
      tmux.type('theme');
      tmux.keys('Enter');
      s = await tmux.waitFor((x) => x.includes('HELP · search "theme"') && !x.includes('search help:'));
      expect(overlayMismatches(s, spec(0, 'theme'), columns, rows)).toEqual([]);
      expect(s).toMatch(/t +next theme/);
      tmux.keys('Escape');
      await tmux.waitFor((x) => !x.includes('search "theme"'));
      tmux.keys('Escape');
      await tmux.waitFor((x) => !x.includes('HELP ·'));
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 60_000);

    it(`a job where every node failed at ${columns}x${rows}: ✖ in the failed colour, its error group in the error colour`, async () => {
      const tmux = session(`failed${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('sim008') && x.includes('? help'));
      tmux.keys(':');
      await tmux.waitFor('Tab complete');
      tmux.type('SSH:EXEC:sim[001-008]:false');
      tmux.keys('Enter');
      await tmux.waitFor('CONFIRM');
      tmux.keys('y');
      const s = await tmux.waitFor('[exit 1]');
      expect(s).toMatch(/#\d+ ✖ SSH:EXEC:sim\[001-0/);
      expect(s).not.toMatch(/✔ SSH:EXEC/);
      const c = tmux.captureColours().split('\n');
      // default theme: job.failed and error are redBright (SGR 91)
      expect(c.find((l) => /✖ SSH:EXEC/.test(l))).toMatch(/\x1b\[91m[^\x1b]*#\d+ ✖ SSH:EXEC/);
      expect(c.find((l) => l.includes('[exit 1]'))).toMatch(/\x1b\[91m *\[exit 1\]/);
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 60_000);
  }
});
