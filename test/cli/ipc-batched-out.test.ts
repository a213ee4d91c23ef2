/**
 * `vacm ipc` prints what one tick of the engine emits in one write (issue 18 row 2: a sweep's 1024
 * PING lines were 1024 writes): the same text in the same order, far fewer writes, and what goes to
 * stderr still comes after the stdout lines printed before it.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { runIpc } from '../../src/cli/ipc.js';
import type { CommandDef, ModuleDef } from '../../src/protocol/module.js';
import { tempDir } from '../helpers/engine.js';

/** BURST:LINES:<nodes>:<count>: every node prints `count` lines in one synchronous burst */
const burst: CommandDef = {
  name: 'LINES',
  summary: 'print lines in one burst',
  nodes: 'required',
  args: [{ name: 'count' }],
  lane: 'bulk',
  dangerous: false,
  async run(ctx) {
    await ctx.forEachNode(ctx.nodes, async ({ node }) => {
      for (let i = 0; i < Number(ctx.args.count); i++) ctx.emit({ type: 'OUTPUT', node, stream: 'stdout', line: `line ${i}` });
      ctx.emit({ type: 'EXIT', node, code: 0 });
    });
  },
};
const burstModule: ModuleDef = { tag: 'BURST', summary: 'bursts of output', commands: [burst] };

describe('vacm ipc: stdout batched per tick', () => {
  it('prints 1024 lines of one tick in a few writes, the same text in order, and stderr after them', async () => {
    const engine = new Engine({ config: parseConfig('cluster: t\nnodes:\n  - names: n[1-2]\n', 'batch.yaml'), modules: [nexxusModule, burstModule], stateDir: tempDir('vacm-batch-'), localName: 'not-a-node' });
    await engine.start();
    const writes: string[] = [];
    const both: string[] = [];
    const io = {
      out: (s: string) => void (writes.push(s), both.push(s)),
      err: (s: string) => void both.push(`ERR ${s}`),
      stdin: new PassThrough(),
      stdinIsTTY: false,
    };
    let code: number;
    try {
      code = await runIpc(engine, { messages: ['BURST:LINES:n[1-2]:1024', 'NOSUCH:THING'], gather: false }, io);
    } finally {
      await engine.stop();
    }
    expect(code).toBe(2); // the second request is refused
    const text = writes.join('');
    const lines = text.split('\n').filter((l) => l.includes(':OUTPUT:'));
    expect(lines.length).toBe(2048);
    for (const node of ['n1', 'n2']) {
      const mine = lines.filter((l) => l.includes(`:OUTPUT:${node}:`));
      expect(mine.map((l) => l.slice(l.lastIndexOf(':') + 1))).toEqual(Array.from({ length: 1024 }, (_, k) => `line ${k}`));
    }
    expect(writes.length).toBeLessThan(20);
    // the refusal of the second request comes on stderr after every stdout line of the first job
    const errAt = both.findIndex((s) => s.startsWith('ERR '));
    expect(errAt).toBeGreaterThan(0);
    expect(both.slice(0, errAt).join('')).toContain('JOB_COMPLETED');
  });
});
