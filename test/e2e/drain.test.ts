/**
 * The real `vacm` in tmux (issue 16 items 2 and 3): drain a node through the dashboard's `:` prompt,
 * see its glyph and the header's count, open the events timeline with `e` and see the drain; quit,
 * start again on the same state dir: still drained, and the timeline remembers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

const YAML = `cluster: simlab
nodes:
  - names: sim[0001-0008]
    groups: [compute]
    vars: { sim: true, power: sim }
`;

describe.skipIf(!tmuxAvailable())('drains and the events timeline in tmux (needs tmux: apt-get install tmux)', () => {
  const session = tmuxSuite();

  it('drain sim0003 through the : prompt, see ⊘ and "1 drained", e shows it; after a restart it is still drained', async () => {
    const stateDir = tempDir('vacm-e2e-drain-');
    const config = path.join(stateDir, 'vacm.yaml');
    fs.writeFileSync(config, YAML);
    const first = session('drain1');
    first.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 140, rows: 36, env: { VACM_STATE_DIR: stateDir } });
    await first.waitFor('sim0008');
    first.keys(':');
    await first.waitFor('Tab complete');
    first.type('NEXXUS:DRAIN:sim0003:disk swap');
    first.keys('Enter');
    await first.waitFor('CONFIRM');
    first.keys('y');
    let s = await first.waitFor('1 drained');
    expect(s).toMatch(/[●✖○?]⊘sim0003 /);
    expect(s).not.toMatch(/⊘sim000[1245678]/);
    expect(s).toMatch(/#\d+ ✔ NEXXUS:DRAIN:sim0003:disk swap/);
    first.keys('e');
    s = await first.waitFor('EVENTS ·');
    expect(s).toMatch(/drain +sim0003 +drained by \S+: disk swap/);
    first.keys('Escape');
    await first.waitFor((x) => !x.includes('EVENTS ·'));
    first.keys('q');
    await first.waitFor('VACM_EXITED 0');

    const second = session('drain2');
    second.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 140, rows: 36, env: { VACM_STATE_DIR: stateDir } });
    s = await second.waitFor((x) => x.includes('sim0008') && x.includes('1 drained'));
    expect(s).toMatch(/[●✖○?]⊘sim0003 /);
    second.keys('j', 'j');
    s = await second.waitFor('⊘ drained: disk swap — by');
    second.keys('e');
    s = await second.waitFor('EVENTS ·');
    expect(s).toMatch(/drain +sim0003 +drained by \S+: disk swap/);
    second.keys('Escape');
    await second.waitFor((x) => !x.includes('EVENTS ·'));
    second.keys('q');
    await second.waitFor('VACM_EXITED 0');
  }, 120_000);
});
