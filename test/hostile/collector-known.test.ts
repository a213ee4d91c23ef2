/**
 * The collector keeps, per nodelist node, its key and the address it must send from (issue 18 row 3:
 * no node view per datagram). These pin what must not change with that: the binding follows a
 * node's `host` when it changes at run time, a node added later is heard once it is in the
 * nodelist, names that are not nodes are never kept, and the engine gets the datagram's stats.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorCore, parseCollectorSection } from '../../src/backends/collector/module.js';
import { parseConfig } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { deriveNodeKey, encodeAgentMsg, type AgentMsg } from '../../src/protocol/agent-msg.js';

const MASTER = 'hostile-known-master-secret';
const NOW = 1_800_000_000_000;
const dirs: string[] = [];
const engines: Engine[] = [];

afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ engine: Engine; core: CollectorCore }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-collector-known-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'secret'), MASTER, { mode: 0o600 });
  const config = parseConfig('cluster: t\nnodes:\n  - names: n[1-2]\n    vars: { host: "127.0.40.1" }\n  - names: byname\n    vars: { host: "byname.example" }\nping:\n  enabled: false\nsysstat:\n  enabled: false\n');
  const engine = new Engine({ config, modules: [], monitor: true, stateDir: path.join(dir, 'state') });
  await engine.start();
  engines.push(engine);
  return { engine, core: new CollectorCore(engine, parseCollectorSection({ secret_file: path.join(dir, 'secret') })) };
}

let seq = 0;
const datagram = (node: string, stats: AgentMsg['stats'] = { load1: 0.5, os: 'Debian GNU/Linux 12 (bookworm)' }, kind: AgentMsg['kind'] = 'status') =>
  encodeAgentMsg({ v: 2, kind, node, boot: 'b1', seq: ++seq, ts: NOW, iv: 1, stats }, deriveNodeKey(MASTER, node)).bytes;

describe('collector: what it keeps per node', () => {
  it('binds a node to its host, and follows the host when it changes at run time', async () => {
    const { engine, core } = await setup();
    expect(core.handle(datagram('n1'), '127.0.40.1', NOW)).toMatchObject({ ok: true });
    expect(core.handle(datagram('n1'), '127.0.40.9', NOW)).toEqual({ ok: false, reason: 'address' });
    engine.setVar('n1', 'host', '127.0.40.9');
    expect(core.handle(datagram('n1'), '127.0.40.1', NOW)).toEqual({ ok: false, reason: 'address' });
    expect(core.handle(datagram('n1'), '127.0.40.9', NOW)).toMatchObject({ ok: true });
    engine.unsetVar('n1', 'host'); // no host: no binding
    expect(core.handle(datagram('n1'), '127.0.40.200', NOW)).toMatchObject({ ok: true });
    // a host that is a name binds nothing
    expect(core.handle(datagram('byname'), '127.0.40.77', NOW)).toMatchObject({ ok: true });
  });

  it('hears a node added after its first datagrams, and keeps nothing for names that are not nodes', async () => {
    const { engine, core } = await setup();
    expect(core.handle(datagram('late'), '127.0.40.5', NOW)).toEqual({ ok: false, reason: 'unknown_node' });
    for (let i = 0; i < 200; i++) core.handle(datagram(`ghost${i}`), '127.0.40.5', NOW);
    expect(core.sizes().keys).toBe(0);
    engine.addNode({ name: 'late', vars: { host: '127.0.40.5' } });
    expect(core.handle(datagram('late'), '127.0.40.6', NOW)).toEqual({ ok: false, reason: 'address' });
    expect(core.handle(datagram('late'), '127.0.40.5', NOW)).toMatchObject({ ok: true });
    expect(core.sizes().keys).toBe(1);
    expect(engine.node('late')?.state).toBe('up');
  });

  it("gives the engine the datagram's stats, datagram after datagram", async () => {
    const { engine, core } = await setup();
    const stats = { load1: 1.25, cpu: 7, os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-18-amd64-long' };
    core.handle(datagram('n2', stats), '127.0.40.1', NOW);
    expect(engine.node('n2')?.stats).toEqual(stats);
    expect(Object.isFrozen(engine.node('n2')?.stats)).toBe(true);
    const next = { ...stats, load1: 2.5, kernel: '6.1.0-19-amd64-long' };
    core.handle(datagram('n2', next), '127.0.40.1', NOW);
    expect(engine.node('n2')?.stats).toEqual(next);
    expect(engine.history.query(['n2'], NOW - 5000, NOW + 5000, 'fine').get('n2')?.values.load1).toEqual([2.5]);
  });
});
