/**
 * The real `vacm --demo` in tmux at 80x24 and 200x60 (issue 11 items 10, 14, 15): the header keeps
 * every number and the clock, job lines lead with state and progress, the sort picker is the
 * overlay that was drawn (word for word), z zooms, 1/2 move the focus. Captures go to
 * $VACM_CAPTURE_DIR when set (the closing note's screens).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';
import { sortSpec } from '../../src/ui/panes/Dialogs.js';
import { overlayMismatches } from '../ui/overlay-check.js';

const capture = (name: string, s: string) => {
  const dir = process.env.VACM_CAPTURE_DIR;
  if (dir) fs.writeFileSync(path.join(dir, name), s);
};

describe.skipIf(!tmuxAvailable())('the layout of vacm --demo in tmux (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  for (const [columns, rows] of [[80, 24], [200, 60]] as const) {
    it(`at ${columns}x${rows}: header numbers and clock, job lines, the sort picker, zoom and 1/2`, async () => {
      const tmux = session(`layout${columns}`);
      tmux.start('node bin/vacm.js --demo --nodes 8', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('sim008') && x.includes('? help'));
      // several jobs with a request too long for the jobs pane (no node has the variable: each fails on all 8)
      let id = 0;
      for (let i = 0; i < 3; i++) {
        tmux.keys(':');
        await tmux.waitFor('Tab complete');
        tmux.type(`NEXXUS:GET_VAR:sim[001-008]:a_long_variable_name_nobody_set_${i}`);
        tmux.keys('Enter');
        const m = /job #(\d+): NEXXUS:GET_VAR/.exec(await tmux.waitFor(new RegExp(`job #\\d+: NEXXUS:GET_VAR:sim\\[001-008\\]:a_long_variable_name_nobody_set_${i}`)))!;
        id = Number(m[1]);
        await tmux.waitFor(`#${id} ✖`);
      }
      let s = await tmux.waitFor(`#${id} ✖`);
      const header = s.split('\n')[0];
      // every number and the clock, in whichever words fit (the demo has 8 nodes and this machine)
      expect(header).toMatch(/^vacm · demo  9( nodes)?: \d up( ·)? \d down( ·)? \d off( ·)? \d (unknown|unk) +jobs:? \d( running)? +(default  )?\d\d:\d\d$/);
      if (columns === 200) expect(header).toContain('default  ');
      // state and progress before the request; the request is what the pane cuts
      const job = s.split('\n').find((l) => l.includes(`#${id} ✖`))!;
      if (columns === 80) expect(job).toMatch(new RegExp(`│#${id} ✖ 8/8 8 failed  NEXXUS:[^ ]*…  \\d+(ms|\\.\\ds)│$`));
      else expect(job).toContain(`#${id} ✖ 8/8 completed, 8 failed  NEXXUS:GET_VAR:sim[001-008]:a_long_variable`); // cut to the pane, after state and progress
      capture(`jobs-${columns}x${rows}.txt`, s);

      // the sort picker: exactly what was drawn, then load per CPU marked in the header
      tmux.keys('s');
      await tmux.waitFor('SORT · now name ▲');
      const spec = sortSpec({ kind: 'sort', cursor: 0 }, 'name', false);
      s = await tmux.waitFor((x) => overlayMismatches(x, spec, columns, rows).length === 0, 5000).catch(() => tmux.capture());
      expect(overlayMismatches(s, spec, columns, rows)).toEqual([]);
      capture(`sort-picker-${columns}x${rows}.txt`, s);
      tmux.keys('j', 'j', 'j', 'Enter');
      s = await tmux.waitFor('sort loadPerCpu ▼');
      expect(s).toContain('LOAD▼');
      tmux.keys('r');
      s = await tmux.waitFor('sort loadPerCpu ▲');

      // zoom: the nodes pane over the whole width, and back
      tmux.keys('z');
      s = await tmux.waitFor('nodes pane full screen · z goes back');
      expect(s).not.toContain('JOBS');
      tmux.keys('2');
      s = await tmux.waitFor((x) => /JOBS \d/.test(x) && !x.includes('NODES'));
      expect(s.split('\n')[2]).toMatch(/^│JOBS \d/);
      tmux.keys('z', '1');
      s = await tmux.waitFor((x) => /JOBS \d/.test(x) && x.includes('NODES') && x.includes('Space mark'));
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    }, 120_000);
  }
});
