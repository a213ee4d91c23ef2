/**
 * Similar-line gathering: a node's own name or address becomes [NODE], so lines that differ only
 * by it gather under one group (`vacm ipc --similar`); exact gathering stays the default.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { similarLine } from '../../src/protocol/gather.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { runIpc } from '../../src/cli/ipc.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

describe('similarLine', () => {
  it.each([
    ['ssh: node07: Name or service not known', ['node07', '127.0.10.7'], 'ssh: [NODE]: Name or service not known'],
    ['node07 is node07', ['node07'], '[NODE] is [NODE]'],
    ['connect to 127.0.10.7 port 22: refused', ['node07', '127.0.10.7'], 'connect to [NODE] port 22: refused'],
    // a longer name or address that merely starts with it is another node's
    ['node1 and node10 and xnode1 and node1-ib', ['node1'], '[NODE] and node10 and xnode1 and node1-ib'],
    ['127.0.10.1 vs 127.0.10.12', ['node1', '127.0.10.1'], '[NODE] vs 127.0.10.12'],
    ['node07.example.org', ['node07'], '[NODE].example.org'],
    ['nothing here', ['node07'], 'nothing here'],
    ['', ['node07'], ''],
    ['n1n1n1', ['n1'], 'n1n1n1'],
  ])('%j', (line, aliases, want) => {
    expect(similarLine(line, aliases)).toBe(want);
  });

  it('is linear on a hostile line (a million near-matches)', () => {
    const line = 'node0'.repeat(200_000) + ' node07';
    expect(similarLine(line, ['node07']).endsWith(' [NODE]')).toBe(true);
  });
});

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function ipc(args: { similar?: boolean }, message: string) {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const m = await makeEngine({ yaml: 'nodes:\n  - names: s[01-04]\n    vars: { sim: true, host: "127.0.9.{n}" }\n', modules: [createSimModule(sim, { intervalMs: 3_600_000 }), createSshModule({ pool: new SshPool(), providers: createProviders(sim) })] });
  engine = m.engine;
  let out = '';
  let err = '';
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s), stdin: Readable.from([]), stdinIsTTY: false };
  const code = await runIpc(m.engine, { ...args, messages: [message] }, io);
  return { out: out.split('\n').filter((l) => !/^SSH:\d+:/.test(l)).join('\n'), err, code };
}

describe('vacm ipc --similar', () => {
  it('gathers lines that differ only by the node under one [NODE] group; the streamed lines stay exact', async () => {
    const r = await ipc({ similar: true }, 'SSH:EXEC:s[01-04]:hostname');
    expect(r.out).toBe('---------------\ns[01-04] (4)\n---------------\n[NODE]\n');
    expect(r.code).toBe(0);
  });

  it('exact by default, as clush', async () => {
    const r = await ipc({}, 'SSH:EXEC:s[01-04]:hostname');
    expect(r.out).toBe(['s01', 's02', 's03', 's04'].map((n) => `---------------\n${n}\n---------------\n${n}\n`).join(''));
  });

  it('stderr is gathered the same way (on stderr)', async () => {
    const r = await ipc({ similar: true }, 'SSH:EXEC:s[01-04]:cat /nonexistent');
    expect(r.err).toContain('---------------\ns[01-04] (4)\n---------------\ncat: /nonexistent: No such file or directory\n');
  });
});
