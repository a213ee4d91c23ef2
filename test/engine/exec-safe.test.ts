/**
 * exec.safe (issue 11 item 6): commands that change nothing run without confirmation and under
 * --read-only; everything else stays dangerous. Module commands that change nothing never ask.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { createSimModule } from '../../src/backends/sim/module.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { parseConfig } from '../../src/engine/config.js';
import { isDangerous } from '../../src/protocol/module.js';
import type { Engine } from '../../src/engine/engine.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createProviders } from '../../src/backends/providers.js';

const YAML = (exec: string) => `
cluster: safe
nodes:
  - names: s[01-04]
    vars: { sim: true, power: sim }
exec:
${exec}
`;

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function cluster(exec: string, readOnly = false) {
  const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
  const m = await makeEngine({ yaml: YAML(exec), modules: [createSimModule(sim, { intervalMs: 3_600_000 }), createSshModule({ pool: new SshPool(), providers: createProviders(sim) })], engine: { readOnly } });
  engine = m.engine;
  return m.engine;
}

const dangerous = (e: Engine, line: string) => {
  const p = e.prepare(line);
  return isDangerous(p.cmd, p.req);
};

describe('exec.safe', () => {
  it('a listed command is not dangerous; others, and the same words with shell syntax, are', async () => {
    const e = await cluster('  safe: ["uname *", uptime, "systemctl status *", {shell: "dmesg | tail -5"}]');
    expect(dangerous(e, 'SSH:EXEC:s[01-04]:uname -r')).toBe(false);
    expect(dangerous(e, 'SSH:EXEC:s01:uptime')).toBe(false);
    expect(dangerous(e, 'SSH:EXEC:s01:systemctl status slurmd')).toBe(false);
    expect(dangerous(e, 'SSH:EXEC:s01:dmesg | tail -5')).toBe(false);
    expect(dangerous(e, 'SSH:EXEC:s01:systemctl restart slurmd')).toBe(true);
    expect(dangerous(e, 'SSH:EXEC:s01:uname -r -a')).toBe(true); // each * is one word
    expect(dangerous(e, 'SSH:EXEC:s01:reboot')).toBe(true);
  });

  it('runs read-only; a command it does not list is refused read-only with ERR_READ_ONLY', async () => {
    const e = await cluster('  safe: ["uname *"]', true);
    const out = await run(e, 'SSH:EXEC:s[01-02]:uname -r');
    expect(out.some((l) => /^SSH:J:\d+:OUTPUT:s01:stdout:/.test(l) || /EXIT:s01:0/.test(l))).toBe(true);
    expect(out.at(-1)).toMatch(/JOB_COMPLETED/);
    expect(() => e.submit('SSH:EXEC:s01:reboot')).toThrow(expect.objectContaining({ code: 'ERR_READ_ONLY' }));
  });

  it('still needs exec.allow: safe is not a way around the allowlist', async () => {
    const e = await cluster('  allow: [uptime]\n  safe: ["uname *"]');
    const out = await run(e, 'SSH:EXEC:s01:uname -r');
    expect(out.at(-1)).toMatch(/JOB_FAILED:ERR_NOT_ALLOWED/);
  });

  it('the config refuses "*" and malformed entries with file and line', () => {
    expect(() => parseConfig(YAML('  safe: ["*"]'), 'v.yaml')).toThrow(/v\.yaml:7: exec\.safe\.0: "\*" would make every command safe/);
    expect(() => parseConfig(YAML('  safe: ["uname; reboot"]'), 'v.yaml')).toThrow(/v\.yaml:7: exec\.safe\.0: .*shell syntax/);
    expect(() => parseConfig(YAML('  safe: uptime'), 'v.yaml')).toThrow(/exec\.safe: must be a list/);
  });

  it('SIM:RECOVER (puts a simulated fault right) never asks; SIM:FAIL still does', async () => {
    const e = await cluster('  safe: []');
    expect(dangerous(e, 'SIM:RECOVER:s01')).toBe(false);
    expect(dangerous(e, 'SIM:FAIL:s01')).toBe(true);
  });
});
