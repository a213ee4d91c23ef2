/**
 * Two real dashboards in tmux attached to one real `vacm serve` (issue 13): A (alice, operator)
 * powers off two marked nodes and B (vera, viewer) shows them off within 2 s; A starts a 5 s exec and
 * quits, B sees it complete and who ran it, and the audit names alice; B's role greys the power menu
 * with its reason; a restart of the serve shows `reconnecting…` on B, which then recovers by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { hasBinary, startServe, type ServeFixture } from '../helpers/serve-door.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';

const HAVE = tmuxAvailable() && hasBinary('ssh-keygen');
/** a fixed loopback port: the restarted serve must be where the dashboards dial again */
const LISTEN = '127.0.0.1:22613';

describe.skipIf(!HAVE)('vacm --attach: two dashboards on one serve, in tmux', () => {
  let f: ServeFixture;
  const session = tmuxSuite({
    before: async () => {
      f = await startServe([{ name: 'alice', role: 'operator' }, { name: 'vera', role: 'viewer' }], { listen: LISTEN });
    },
    after: () => f?.stop(),
  });
  const a = session('attach-a');
  const b = session('attach-b');
  const dashboard = (user: string) => `node bin/vacm.js --attach ssh://${user}@${LISTEN}`;

  it('A acts, B sees it; A quits and its job goes on; the audit names A; a serve restart is reconnected', async () => {
    a.start(dashboard('alice'), { cwd: ROOT, env: { HOME: f.home('alice'), SSH_AUTH_SOCK: '', VACM_STATE_DIR: path.join(f.dir, 'client-a') } });
    b.start(dashboard('vera'), { cwd: ROOT, env: { HOME: f.home('vera'), SSH_AUTH_SOCK: '', VACM_STATE_DIR: path.join(f.dir, 'client-b') } });
    let sa = await a.waitFor((x) => x.includes('alice (operator)') && /sim008 on/.test(x), 30_000);
    expect(sa).toContain('vacm · doortest');
    expect(sa).toContain('8 nodes: 8 up');
    await b.waitFor((x) => x.includes('vera (viewer)') && /sim008 on/.test(x), 30_000);

    // A marks two nodes and powers them off: B shows them off within 2 s of A's screen
    a.keys('/');
    await a.waitFor('filter (node set or text):');
    a.type('sim00[2-3]');
    a.keys('Enter');
    await a.waitFor('NODES 2 of 8');
    a.keys('Space', 'Space');
    await a.waitFor('2 marked');
    a.keys('p');
    await a.waitFor('POWER · sim[002-003] (2)');
    a.keys('f');
    await a.waitFor('CONFIRM');
    a.keys('y');
    await a.waitFor((x) => /○ sim002 off/.test(x) && /○ sim003 off/.test(x), 15_000);
    const sb = await b.waitFor((x) => /○ sim002 off/.test(x) && /○ sim003 off/.test(x), 2000);
    expect(sb).toMatch(/#\d+ ✔ 2\/2 completed  POWER:OFF:sim\[002-003\] .*by alice/);

    // the viewer's power menu keeps the entries, greyed; pressing one says which role it needs
    b.keys('p');
    await b.waitFor('POWER · sim001');
    b.keys('f');
    await b.waitFor('needs the operator role; vera is a viewer');
    b.keys('Escape');

    // A starts a 5 s exec and quits (the jobs keep running); B sees it complete, and who ran it
    a.keys('Escape', ':');
    await a.waitFor('Tab complete');
    a.type('SSH:EXEC:sim[001-004]:sleep 5');
    a.keys('Enter');
    await a.waitFor('CONFIRM');
    a.keys('y');
    await a.waitFor(/▶ \d\/4 running  SSH:EXEC:sim\[001-004\]:sleep 5/);
    a.keys('q'); // detaches at once: nothing to cancel here
    await a.waitFor('VACM_EXITED 0');
    await b.waitFor(/▶ \d\/4 running  SSH:EXEC:sim\[001-004\]:sleep 5 .*by alice/, 5000);
    const done = await b.waitFor(/✔ 4\/4 completed  SSH:EXEC:sim\[001-004\]:sleep 5 .*by alice/, 20_000);
    expect(done).toContain('vera (viewer)');
    const audit = fs.readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.filter((r) => r.request === 'SSH:EXEC:sim[001-004]:sleep 5' && r.user === 'alice' && r.door === 'ssh').map((r) => r.phase)).toEqual(['attempt', 'outcome']);

    // W: who is attached (NEXXUS:WHO as B's own job)
    b.keys('W');
    await b.waitFor(/✔ \S+ \w+  NEXXUS:WHO/);

    // the serve restarts: B says reconnecting… and comes back by itself, with the state of the new serve
    const restarted = f.restart();
    await b.waitFor('reconnecting…', 15_000);
    await restarted;
    const back = await b.waitFor((x) => !x.includes('reconnecting…') && x.includes('vera (viewer)') && /sim008 on/.test(x), 30_000);
    expect(back).toContain('8 nodes:');
    // and works: a request of B's goes through the new serve
    b.keys(':');
    await b.waitFor('Tab complete');
    b.type('NEXXUS:NODE_LIST:sim001');
    b.keys('Enter');
    await b.waitFor(/✔ \S+ \w+  NEXXUS:NODE_LIST:sim001/, 15_000);
  }, 180_000);
});
