/**
 * The real `node bin/vacm.js --demo` in tmux: nodes visible, the filter, a confirmed power off of two
 * marked nodes, a prompt command streaming into the jobs pane, and `q` restoring the terminal.
 */
import { describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

describe.skipIf(!tmuxAvailable())('vacm --demo in tmux (needs tmux: apt-get install tmux)', () => {
  const tmux = tmuxSuite()('e2e');

  it('shows the nodes, filters, powers off two marked nodes after confirming, streams a prompt job, and q restores the terminal', async () => {
    const stateDir = tempDir('vacm-e2e-');
    tmux.start('node bin/vacm.js --demo', { cwd: ROOT, env: { VACM_STATE_DIR: stateDir } });

    // nodes visible
    // a whole frame (tmux may be captured while ink is still writing the first one)
    let s = await tmux.waitFor((x) => /sim001 on .* \d+\.\d\d/.test(x) && x.includes('sim040'));
    expect(s).toContain('vacm · demo');
    expect(s).toMatch(/65 nodes: \d+ up/);
    expect(s).toContain('sim040');
    expect(tmux.alternateScreenOn()).toBe(true);

    // filter by node set
    tmux.keys('/');
    await tmux.waitFor('filter (node set or text):');
    tmux.type('@rack1!sim00[2-9]');
    tmux.keys('Enter');
    s = await tmux.waitFor('filter @rack1!sim00[2-9]');
    expect(s).toContain('NODES 24 of 65');
    expect(s).not.toMatch(/[●✖○?] sim005 /);
    expect(s).toMatch(/[●✖○?] sim032 /);

    // mark two nodes and power them off: the menu, the confirmation, then they show off
    tmux.keys('/');
    await tmux.waitFor('filter (node set or text): @rack1');
    for (let i = 0; i < 20; i++) tmux.keys('BSpace');
    tmux.type('sim01[0-1]');
    tmux.keys('Enter');
    await tmux.waitFor('NODES 2 of 65');
    tmux.keys('Space', 'Space');
    await tmux.waitFor('2 marked');
    tmux.keys('p');
    s = await tmux.waitFor('POWER · sim[010-011] (2)');
    tmux.keys('f');
    s = await tmux.waitFor('CONFIRM');
    expect(s).toContain('Power off 2 nodes: sim[010-011]'); // issue 11 item 5 changed the wording
    tmux.keys('y');
    s = await tmux.waitFor((x) => /○ sim010 off/.test(x) && /○ sim011 off/.test(x) && /✔ \S+ \w+  POWER:OFF/.test(x));
    expect(s).toMatch(/#\d+ ✔ 2\/2 completed  POWER:OFF:sim\[010-011\]/);

    // a prompt command streams into the jobs pane
    tmux.keys('Escape', ':');
    await tmux.waitFor('Tab complete');
    tmux.type('POWER:STATUS:sim[001-008]');
    tmux.keys('Enter');
    s = await tmux.waitFor(/#\d+ ✔ 8\/8 completed  POWER:STATUS:sim\[001-008\]/);
    expect(s).toContain('sim[001-008] (8)');
    expect(s).toContain('power on');

    // q quits and restores the terminal
    tmux.keys('q');
    s = await tmux.waitFor('VACM_EXITED 0');
    expect(tmux.alternateScreenOn()).toBe(false);
    expect(s).not.toContain('vacm · demo');
  }, 90_000);
});
