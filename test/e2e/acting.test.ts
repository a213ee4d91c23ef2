/**
 * The real `vacm` in tmux at 80x24 and 200x60: the one text input (the filter narrows live, the old
 * text is selected, readline keys edit it; issue 11 item 7), marking a failed group in a job's
 * output and re-running on exactly those nodes (issue 15 item 3), and a custom action from the
 * config (item 5). Sim nodes are made to fail with SIM:FAIL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

const CONFIG = `cluster: acting
nodes:
  - names: s[01-08]
    vars: { sim: true, power: sim }
exec:
  skip_states: []
actions:
  - { key: R, name: restart slurmd, request: "SSH:EXEC:{nodes}:systemctl restart slurmd" }
`;

/** the prompt row (the one above the footer) */
const promptRow = (s: string) => s.split('\n').find((l) => l.startsWith('filter (node set or text):')) ?? '';

describe.skipIf(!tmuxAvailable())('acting on what you see, in tmux (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  for (const [columns, rows] of [[80, 24], [200, 60]] as const) {
    it(`the filter prompt at ${columns}x${rows}: narrows live, starts selected, edits with readline keys`, async () => {
      const tmux = session(`filter${columns}`);
      // the demo: 40 sim nodes and this machine (41)
      tmux.start('node bin/vacm.js --demo --nodes 40', { cwd: ROOT, columns, rows, env: { VACM_STATE_DIR: tempDir('vacm-e2e-') } });
      await tmux.waitFor((x) => x.includes('NODES 41') && /sim001/.test(x));
      tmux.keys('/');
      tmux.type('sim00');
      // narrowed before Enter
      let s = await tmux.waitFor('NODES 9 of 41');
      expect(promptRow(s)).toMatch(/^filter \(node set or text\): sim00/);
      tmux.type('[1-8]');
      s = await tmux.waitFor('NODES 8 of 41');
      tmux.keys('Enter');
      await tmux.waitFor((x) => !promptRow(x).startsWith('filter (node set'));
      // reopened: the old text is selected, so typing replaces it
      tmux.keys('/');
      s = await tmux.waitFor((x) => promptRow(x).startsWith('filter (node set or text): sim00[1-8]'));
      if (columns === 80) process.stdout.write(`[capture] filter prompt reopened (old text selected) at 80x24:\n${s}\n`);
      tmux.type('sim0[01-10]');
      s = await tmux.waitFor('NODES 10 of 41');
      expect(promptRow(s)).toMatch(/^filter \(node set or text\): sim0\[01-10\]\s*$/);
      expect(s).not.toContain('sim00[1-8]sim');
      if (columns === 80) process.stdout.write(`[capture] after typing sim0[01-10] at 80x24:\n${s}\n`);
      // readline: Ctrl-A to the start, Alt-F over "sim0", Ctrl-K cuts the rest: "sim0" matches all 40 as text... then a new range
      tmux.keys('C-a', 'M-f', 'C-k');
      s = await tmux.waitFor((x) => /^filter \(node set or text\): sim0\s*$/.test(promptRow(x)) && x.includes('NODES 40 of 41'));
      tmux.type('3*');
      s = await tmux.waitFor('NODES 10 of 41');
      tmux.keys('Escape');
      // Esc in the prompt goes back to the filter it opened on
      s = await tmux.waitFor((x) => x.includes('NODES 8 of 41') && !promptRow(x).startsWith('filter (node set'));
      tmux.keys('q');
      await tmux.waitFor('VACM_EXITED 0');
    });
  }

  it('80x24: a failed group marked in the job output is re-run on exactly those nodes; a custom action from the config', async () => {
    const dir = tempDir('vacm-e2e-acting-');
    const config = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(config, CONFIG, { mode: 0o600 });
    const tmux = session('rerun');
    tmux.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 80, rows: 24, env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    let s = await tmux.waitFor((x) => x.includes('NODES 8') && x.includes('s08'));
    // (the footer's custom actions are cut at 80 columns; the ink test checks them at 200)
    // two nodes fail
    tmux.keys(':');
    tmux.type('SIM:FAIL:s02,s05');
    tmux.keys('Enter');
    await tmux.waitFor('CONFIRM');
    tmux.keys('y');
    await tmux.waitFor('2 down');
    // an exec on all 8: the two fail
    tmux.keys('a', 'x');
    tmux.type('uname -r');
    tmux.keys('Enter');
    await tmux.waitFor('CONFIRM');
    tmux.keys('y');
    s = await tmux.waitFor(/#2 ⚠/);
    tmux.keys('Escape', 'Escape', 'Tab', 'Enter', 'g');
    s = await tmux.waitFor(/#2 .*gathered/);
    expect(s).toMatch(/s\[02,05\] \(2\)/);
    tmux.keys('Space');
    await tmux.waitFor('marked s[02,05] (2)');
    tmux.keys('r');
    s = await tmux.waitFor('CONFIRM');
    expect(s).toContain('request: SSH:EXEC:s[02,05]:uname -r');
    fs.writeFileSync(path.join(dir, 'rerun-confirm.txt'), s);
    tmux.keys('y');
    s = await tmux.waitFor('job #3: SSH:EXEC:s[02,05]:uname -r'); // (at 80 columns the jobs pane cuts the request)
    // the custom action on the same marks
    tmux.keys('Tab', 'R');
    s = await tmux.waitFor('CONFIRM');
    expect(s).toContain('request: SSH:EXEC:s[02,05]:systemctl restart slurmd');
    expect(s).toContain('custom action "restart slurmd" (R)');
    tmux.keys('n');
    await tmux.waitFor('cancelled: nothing was done');
    process.stdout.write(`[capture] re-run confirmation at 80x24:\n${fs.readFileSync(path.join(dir, 'rerun-confirm.txt'), 'utf8')}\n`);
  });

  it('a custom action whose key is a built-in key is ERR_CONFIG at start, with file and line', async () => {
    const dir = tempDir('vacm-e2e-acting-');
    const config = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(config, CONFIG.replace('key: R', 'key: p'), { mode: 0o600 });
    const tmux = session('clash');
    tmux.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 200, rows: 60, env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    const s = await tmux.waitFor('VACM_EXITED 2');
    expect(s).toContain(`ERR_CONFIG: ${config}:8: actions.0.key: p is a built-in key (power menu, nodes pane)`);
  });
});
