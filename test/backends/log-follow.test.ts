import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { makeEngine, run } from '../helpers/engine.js';
import { createLogModule, followCommand } from '../../src/backends/log/module.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import type { StreamExecOptions } from '../../src/backends/capabilities.js';
import { splitShellWords } from '../../src/protocol/shell-words.js';
import { createProviders } from '../../src/backends/providers.js';

describe('LOG:FOLLOW', () => {
  it.each([
    [undefined, ['journalctl', '-f', '-n', '10', '--no-pager']],
    ['sshd', ['journalctl', '-f', '-n', '10', '--no-pager', '-u', 'sshd']],
    ['/var/log/a b;$(id)', ['tail', '-n', '10', '-F', '--', '/var/log/a b;$(id)']],
  ])('follows %j with %j, the unit or path one quoted word', (what, words) => {
    const s = splitShellWords(followCommand(what));
    expect(s.ok && s.words.map((w) => w.text)).toEqual(words);
  });

  it('refuses what is neither a path nor a unit name', () => {
    expect(() => followCommand('sshd; reboot')).toThrow(/neither an absolute path nor a unit name/);
  });

  it('streams each node\'s lines until cancelled, then stops every remote tail (its signal aborts) and ends JOB_CANCELLED', async () => {
    const started: { node: string; command: string; signal: AbortSignal }[] = [];
    const pool = {
      exec: (node: string, _vars: unknown, command: string, opts: StreamExecOptions) => new Promise<{ code: number }>((_res, rej) => {
        started.push({ node, command, signal: opts.signal! });
        opts.onLine('stdout', `first line of ${node}`);
        opts.signal!.addEventListener('abort', () => rej(opts.signal!.reason), { once: true });
      }),
    };
    const { engine, stateDir } = await makeEngine({ yaml: 'nodes:\n  - names: node[01-04]\n', modules: [createLogModule({ pool, providers: createProviders(new SimCluster({ seed: 1 })) })] });
    try {
      const h = engine.submit('LOG:FOLLOW:node[01-04]:/var/log/app.log');
      for (let i = 0; i < 50 && started.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(started.map((s) => s.node)).toEqual(['node01', 'node02', 'node03', 'node04']);
      expect(started[0].command).toBe('tail -n 10 -F -- /var/log/app.log');
      h.cancel();
      const v = await h.done;
      expect(v.state).toBe('cancelled');
      expect(started.every((s) => s.signal.aborted)).toBe(true);
      expect(v.events.filter((e) => e.type === 'OUTPUT').map((e) => (e as { line: string }).line).sort()).toEqual(['first line of node01', 'first line of node02', 'first line of node03', 'first line of node04']);
      // a bad unit is refused before anything runs
      const bad = await run(engine, 'LOG:FOLLOW:node01:x;y');
      expect(bad.at(-1)).toMatch(/JOB_FAILED:ERR_BAD_ARGS:/);
    } finally {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
