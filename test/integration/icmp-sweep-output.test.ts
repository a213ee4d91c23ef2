/**
 * The text of a 1024-node sweep as `vacm ipc` prints it, pinned line for line (modulo the round-trip
 * times): issue 18 row 2 changed how fping's output is read and how the lines are written, never what
 * they say or their order. 127.0.34.9 is made silent with a private nftables table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary } from '../../src/backends/icmp/fping.js';
import { vacm } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { IcmpDrop, nftUsable } from '../helpers/nft.js';

const DEAD = '127.0.34.9';
const hasFping = findBinary('fping') !== undefined;
const canDrop = nftUsable();
const blocks = [30, 31, 32, 33].map((c, i) => ({ prefix: 'abcd'[i], net: `127.0.${c}` }));
const CONFIG = `cluster: sweep-output
fanout: 64
ping: { method: fping, batch: 2048 }
nodes:
${blocks.slice(0, 2).map((b) => `  - names: ${b.prefix}[0-255]\n    vars: { host: "${b.net}.{n}" }`).join('\n')}
  - names: dead01
    vars: { host: ${DEAD} }
  - names: bad01
    vars: { host: "-x" }
  - names: bogus01
    vars: { host: nosuch.invalid }
${blocks.slice(2).map((b) => `  - names: ${b.prefix}[0-255]\n    vars: { host: "${b.net}.{n}" }`).join('\n')}
`;

const up = (bs: typeof blocks) => bs.flatMap((b) => Array.from({ length: 256 }, (_, i) => `ICMP_ECHO:1:PING:${b.prefix}${i}:up:RTTms`));

const drop = new IcmpDrop('sweepout');
beforeAll(() => {
  if (canDrop) drop.drop([DEAD]);
});
afterAll(() => drop.remove());

describe.skipIf(!hasFping)('a 1024-node sweep as vacm ipc prints it (needs fping: apt-get install fping)', () => {
  it('the same lines in the same order: the refused address first, then every node in node order, then the summary; stderr and exit status too', async () => {
    const dir = tempDir('vacm-sweep-output-');
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, CONFIG);
    const r = await vacm(['ipc', '--config', cfg, 'ICMP_ECHO:PING:*:1:200'], { cwd: dir, timeoutMs: 60_000 });
    const deadLine = canDrop ? 'ICMP_ECHO:1:PING:dead01:down:no reply to 1 ping within 200 ms' : 'ICMP_ECHO:1:PING:dead01:up:RTTms';
    const failed = canDrop ? 'bad01,bogus01,dead01 (3)' : 'bad01,bogus01 (2)';
    const want = [
      'ICMP_ECHO:1:JOB_STARTED',
      `ICMP_ECHO:1:ERROR:bad01:ERR_PING:"-x" is not an address or host name; set the node's host variable to one`,
      // one batch (ping.batch 2048), so one fping and the nodes in the config's order
      ...up(blocks.slice(0, 2)),
      deadLine,
      "ICMP_ECHO:1:ERROR:bogus01:ERR_PING:cannot resolve nosuch.invalid; set the node's host variable to an address or a resolvable name",
      ...up(blocks.slice(2)),
      `ICMP_ECHO:1:JOB_COMPLETED:ok=${canDrop ? 1024 : 1025}:failed=${canDrop ? 3 : 2}`,
      '',
    ];
    expect(r.out.replace(/:up:\d+(\.\d+)?ms$/gm, ':up:RTTms').split('\n')).toEqual(want);
    expect(r.err.split('\n')).toEqual([
      `vacm: bad01: ERR_PING: "-x" is not an address or host name; set the node's host variable to one`,
      "vacm: bogus01: ERR_PING: cannot resolve nosuch.invalid; set the node's host variable to an address or a resolvable name",
      `vacm: failed: ${failed}`,
      '',
    ]);
    expect(r.code).toBe(1);
  }, 90_000);
});
