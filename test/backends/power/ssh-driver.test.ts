import { afterEach, describe, expect, it } from 'vitest';
import type { ExecResult, RemoteExecutor } from '../../../src/backends/capabilities.js';
import { VacmError } from '../../../src/protocol/errors.js';
import { messages, powerEngine, results, type Harness } from './harness.js';

/** Nodes as an SSH pool sees them: some answer, one refuses, one drops the connection on poweroff. */
function executor(): RemoteExecutor & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(node, _vars, command): Promise<ExecResult> {
      calls.push(`${node}: ${command}`);
      if (node === 'down1') throw new VacmError('ERR_SSH_UNREACHABLE', 'no route to host');
      if (node === 'noperm') return { stdout: '', stderr: 'Failed to power off system via logind: Interactive authentication required.', code: 1 };
      if (node === 'drops' && command === 'systemctl poweroff') throw new VacmError('ERR_SSH_CONNECT', 'connection closed by remote host');
      return { stdout: '', stderr: '', code: 0 };
    },
  };
}

const YAML = `
nodes:
  - names: s[1-3],down1,noperm,drops
    vars: { power: ssh }
`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('POWER with the ssh driver (over a RemoteExecutor)', () => {
  it('SOFT runs systemctl poweroff, RESET systemctl reboot, STATUS asks whether the node answers', async () => {
    const ex = executor();
    h = await powerEngine(YAML, { executor: ex });
    expect(results((await h.run('POWER:STATUS:s[1-2],down1')).lines)).toEqual({ s1: 'on', s2: 'on', down1: 'unknown' });
    expect(results((await h.run('POWER:RESET:s1')).lines)).toEqual({ s1: 'on' });
    const soft = await h.run('POWER:SOFT:s[2-3],drops,noperm');
    expect(results(soft.lines)).toEqual({ s2: 'unknown', s3: 'unknown', drops: 'unknown', noperm: 'ERR_EXEC' });
    expect(messages(soft.events).noperm).toMatch(/systemctl poweroff failed: Failed to power off system via logind/);
    expect(ex.calls).toContain('s1: systemctl reboot');
    expect(ex.calls).toContain('s2: systemctl poweroff');
  });

  it('has no ON and says which actions it has', async () => {
    const ex = executor();
    h = await powerEngine(YAML, { executor: ex });
    const r = await h.run('POWER:ON:s1');
    expect(messages(r.events).s1).toBe('the ssh power driver cannot do ON; it does SOFT, RESET, STATUS');
    expect(ex.calls).toEqual([]);
  });

  it('without an SSH pool, ssh nodes are ERR_UNSUPPORTED with the reason', async () => {
    h = await powerEngine(YAML);
    const r = await h.run('POWER:STATUS:s1');
    expect(results(r.lines)).toEqual({ s1: 'ERR_UNSUPPORTED' });
    expect(messages(r.events).s1).toMatch(/power: ssh needs the SSH pool/);
  });
});
