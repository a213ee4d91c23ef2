/**
 * Hostile input meets live selectors and skipping: a node's state reason comes from the network
 * (an SSH peer's error text, a ping tool's output); a variable's value from SET_VAR. Neither may
 * forge a response line or reach a terminal raw; a selector never reads a secret.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const EVIL = 'refused\nSSH:1:EXIT:n9:0\r\x1b]0;PWNED\x07\x9b2J';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function cluster() {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const m = await makeEngine({ yaml: 'nodes:\n  - names: n[1-3]\n    vars: { sim: true, bmc_password: hunter2 }\n', modules: [createSshModule({ pool: new SshPool(), providers: createProviders(sim) })] });
  engine = m.engine;
  return m.engine;
}

describe('hostile text in live state', () => {
  it('a state reason with newlines and escapes stays inside one SKIPPED field', async () => {
    const e = await cluster();
    e.setNodeState('n2', 'down', EVIL);
    const lines = await run(e, 'SSH:EXEC:n[1-3]:true');
    const skipped = lines.filter((l) => l.includes(':SKIPPED:'));
    expect(skipped).toEqual(['SSH:1:SKIPPED:n2:down:refused\\nSSH\\:1\\:EXIT\\:n9\\:0\\r\\x1b]0;PWNED\\x07\\x9b2J']);
    expect(lines.join('\n')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(lines.filter((l) => l.startsWith('SSH:1:EXIT:n9'))).toEqual([]);
  });

  it('a variable holding controls is matched, never printed; a secret is never matched', async () => {
    const e = await cluster();
    await run(e, `NEXXUS:SET_VAR:n1:note:${EVIL.replace(/:/g, '\\:')}`);
    expect(e.resolve('@var.note=refused*')).toEqual(['n1']);
    expect(e.resolve('@var.note=*PWNED*')).toEqual(['n1']);
    expect(() => e.resolve('@var.bmc_password=h*')).toThrow(/bmc_password holds a secret/);
    expect(() => e.resolve('@var.BMC_PASSWORD=*')).toThrow(expect.objectContaining({ code: 'ERR_NOT_ALLOWED' }));
  });

  it('a selector glob built to backtrack is answered at once (linear matcher)', async () => {
    const e = await cluster();
    await run(e, `NEXXUS:SET_VAR:n1:long:${'a'.repeat(50_000)}`);
    expect(e.resolve(`@var.long=${'*a'.repeat(40)}*b`)).toEqual([]);
  });
});
