/**
 * The real `vacm --demo` in tmux at 80x24 (the documented minimum) and 200x60: every dialog is an
 * overlay whose captured screen is, word for word, what was drawn (help, the power menu, a
 * confirmation with warnings), and a job where every node failed says so.
 */
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite, type Tmux } from './tmux.js';
import { activeKeymaps, helpLines } from '../../src/ui/keymaps.js';
import { confirmSpec, helpSpec } from '../../src/ui/panes/Dialogs.js';
import { describeRequest, requestWarnings } from '../../src/ui/power-menu.js';
import { foldNodeSet } from '../../src/protocol/nodeset.js';
import type { NodeView } from '../../src/protocol/module.js';
import type { OverlaySpec } from '../../src/ui/panes/Overlay.js';
import { mainRows, overlayMismatches } from '../ui/overlay-check.js';
import { inputOf } from '../../src/ui/text-input.js';

const maps = activeKeymaps(false);

/** The screen once it shows `spec` (ink may be caught mid-frame), else the last capture to report. */
async function settled(tmux: Tmux, spec: OverlaySpec, columns: number, rows: number): Promise<string> {
  return tmux.waitFor((x) => overlayMismatches(x, spec, columns, rows).length === 0, 5000).catch(() => tmux.capture());
}

describe.skipIf(!tmuxAvailable())('dialogs of vacm --demo in tmux (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  for (const [columns, rows] of [[80, 24], [200, 60]] as const) {
    it(`help at ${columns}x${rows}: clean (the screen is what was drawn), scrolls and searches`, async () => {
      const tmux = session(`help${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('sim008') && x.includes('? help'));
      const spec = (scroll: number, search = '') => helpSpec(maps, { kind: 'help', scroll, search: inputOf(search), searching: false }, mainRows(columns, rows));
      const total = helpLines(maps).length;
      const body = Math.min(total, mainRows(columns, rows) - 3);
      tmux.keys('?');
      let s = await tmux.waitFor('HELP ·');
      s = await settled(tmux, spec(0), columns, rows);
      expect(overlayMismatches(s, spec(0), columns, rows)).toEqual([]);
      if (body < total) {
        tmux.keys('PageDown');
        // a page down, or to the last page when less than a page is left
        const second = Math.min(body - 1, total - body);
        await tmux.waitFor(`lines ${second + 1}-`);
        s = await settled(tmux, spec(second), columns, rows);
        expect(overlayMismatches(s, spec(second), columns, rows)).toEqual([]);
        tmux.keys('G');
        await tmux.waitFor(`-${total} of ${total}`);
        s = await settled(tmux, spec(total), columns, rows);
        expect(overlayMismatches(s, spec(total), columns, rows)).toEqual([]);
      } else expect(s).toContain(`HELP · ${total} lines`);
      tmux.keys('/');
      await tmux.waitFor('search help:');
      tmux.type('theme');
      tmux.keys('Enter');
      await tmux.waitFor((x) => x.includes('HELP · search "theme"') && !x.includes('search help:'));
      s = await settled(tmux, spec(0, 'theme'), columns, rows);
      expect(overlayMismatches(s, spec(0, 'theme'), columns, rows)).toEqual([]);
      expect(s).toMatch(/t +next theme/);
      tmux.keys('Escape');
      await tmux.waitFor((x) => !x.includes('search "theme"'));
      tmux.keys('Escape');
      await tmux.waitFor((x) => !x.includes('HELP ·'));
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 60_000);

    it(`a confirmation with warnings at ${columns}x${rows}: an overlay on the dimmed dashboard, word for word what was drawn`, async () => {
      const tmux = session(`confirm${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('sim008') && x.includes('? help'));
      tmux.keys(':');
      await tmux.waitFor('Tab complete');
      tmux.type('POWER:OFF:sim001');
      tmux.keys('Enter');
      await tmux.waitFor('CONFIRM');
      tmux.keys('y');
      await tmux.waitFor(/○ sim001 off/);
      tmux.keys(':');
      await tmux.waitFor('Tab complete');
      const line = 'POWER:OFF:vm,sim00[1-3]';
      tmux.type(line);
      tmux.keys('Enter');
      let s = await tmux.waitFor('CONFIRM');
      // what the dashboard knows: vm is this machine with no power driver, sim001 is off
      const names = ['vm', 'sim001', 'sim002', 'sim003'];
      const nodes = new Map(names.map((n) => [n, { name: n, state: n === 'sim001' ? 'off' : 'up', power: n === 'sim001' ? 'off' : n === 'vm' ? 'unknown' : 'on' } as NodeView]));
      const facts = names.map((n) => (n === 'vm' ? { name: n, actions: [], noDriver: 'power: none', guard: 'local' as const } : { name: n, driver: 'sim' as const, actions: ['on', 'off', 'cycle', 'reset', 'soft', 'status'] as const }));
      const r = { tag: 'POWER', command: 'OFF', label: 'POWER:OFF', names, folded: foldNodeSet(names), args: {} };
      // the blast radius line (issue 15 item 7): 3 up, 1 off; the sim nodes have no SSH, and whether vm (this machine) answers `who` depends on the host
      const base = `POWER:OFF ${r.folded} (4): 3 up · 1 off · 0 with users logged in`;
      const specs = [3, 2].map((k) => confirmSpec({ kind: 'confirm', label: r.label, line, folded: r.folded, count: 4, typed: inputOf(), needCount: false, from: 'prompt', head: describeRequest(r), warnings: requestWarnings(r, nodes, facts), blast: `${base} (${k} not asked: no SSH or no answer in 2 s)` }));
      const fits = (x: string) => specs.find((sp) => overlayMismatches(x, sp, columns, rows).length === 0);
      s = await tmux.waitFor((x) => fits(x) !== undefined, 10_000).catch(() => tmux.capture());
      const spec = fits(s) ?? specs[0];
      expect(overlayMismatches(s, spec, columns, rows)).toEqual([]);
      expect(s).toContain(`Power off 4 nodes: ${foldNodeSet(names)}`);
      expect(s).toContain('✖ refused without FORCE: vm (the machine vacm runs on)');
      expect(s).toContain('⚠ already off: sim001 (1)');
      // the dashboard stays under it, dimmed (the default theme's dim is gray, SGR 90)
      expect(s).toContain('vacm · demo');
      const c = tmux.captureColours().split('\n');
      // a node row the overlay leaves in sight (at 80x24 it covers the lower ones), drawn dim
      const dimRow = /\x1b\[90m(?:\x1b\[49m)?[^\x1b]*(?:sim00\d|vm) +(?:on|off|unknown)/;
      expect(c.some((l) => dimRow.test(l)), c.join('\n')).toBe(true);
      tmux.keys('n');
      await tmux.waitFor('cancelled: nothing was done');
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
      // the header paints a count red only when it is above zero (issue 11 item 11): 0 down is dim (gray, 90)
      expect(c[0]).toMatch(/\x1b\[90m0 down/);
      expect(c[0]).not.toMatch(/\x1b\[91m0 down/);
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 60_000);
  }
});
