/** Issue 15 item 7: a power confirmation says how many targets are up, off, and how many up ones have users logged in. */
import { describe, it, expect, afterEach } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import type { StreamingExecutor } from '../../src/backends/capabilities.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { uiEngineOf } from '../../src/ui/ui-engine.js';
import { startApp } from './helpers.js';
import { tempDir } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

let app: Awaited<ReturnType<typeof startApp>> | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('blast radius', () => {
  it('SSH:USERS counts the lines `who` prints on each node; a node that does not answer in time is left out', async () => {
    // a stand-in for the SSH pool: n01 has three logins, n02 none, n03 never answers
    const who: Record<string, string[]> = { n01: ['root pts/0 2026-12-01 03:12', 'ana pts/1 2026-12-01 03:15', 'bo pts/2 2026-12-01 03:20'], n02: [] };
    const asked: string[] = [];
    const pool: StreamingExecutor = {
      async exec(node, _vars, command, opts) {
        asked.push(`${node}:${command}`);
        if (!(node in who)) {
          await new Promise((_, rej) => setTimeout(() => rej(new Error('timed out')), opts.timeoutMs ?? 10_000));
        }
        for (const l of who[node]) opts.onLine('stdout', l);
        return { code: 0 };
      },
    };
    const engine = new Engine({
      config: parseConfig('nodes:\n  - names: n[01-03]\n    vars: { host: "127.0.0.1" }\n', 't.yaml'),
      modules: [createSshModule({ pool, providers: createProviders(new SimCluster()) })],
      stateDir: tempDir('vacm-blast-'),
      localName: 'not-a-node',
    });
    await engine.start();
    try {
      const users = await uiEngineOf(engine).usersLoggedIn(['n01', 'n02', 'n03'], 300);
      expect(Object.fromEntries(users)).toEqual({ n01: 3, n02: 0 });
      expect(asked.sort()).toEqual(['n01:who', 'n02:who', 'n03:who']);
    } finally {
      await engine.stop();
    }
  });

  it('the confirmation of a power action says up · down and how many have users logged in', async () => {
    app = await startApp({ columns: 120, rows: 30 });
    await app.waitFor('sim008');
    await app.engine.submit('SIM:FAIL:sim003:60').done;
    await app.waitFor('1 down');
    await app.press(':');
    await app.press('POWER:OFF:sim[001-004]', '\r');
    // simulated nodes have no SSH: they are not asked, and the line says so
    const f = await app.waitFor(/POWER:OFF sim\[001-004\] \(4\): 3 up · 1 down · 0 with users logged in \(3 not asked/);
    expect(f).toContain('CONFIRM');
  });
});
