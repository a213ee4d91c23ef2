/** The real binary: `vacm ipc` with POWER on --demo nodes and on a config naming this machine. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vacm } from '../helpers/cli.js';
import { ensureFreshDist, staleDistFiles } from '../helpers/dist.js';

const here = os.hostname().split('.')[0] || 'localhost';

describe('vacm ipc POWER (the built binary, rebuilt first when src/ is newer)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    ensureFreshDist();
    expect(staleDistFiles()).toEqual([]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-power-e2e-'));
    env = { VACM_STATE_DIR: path.join(dir, 'state'), VACM_CONFIG: '' };
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('switches --demo nodes off and reads them back, exit 0', async () => {
    const r = await vacm(['ipc', '--demo', '--nodes', '8', 'POWER:OFF:sim[001-003]', 'EMP:STATUS:sim[001-004]'], { env });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('POWER:1:POWER:')).sort()).toEqual(['POWER:1:POWER:sim001:off', 'POWER:1:POWER:sim002:off', 'POWER:1:POWER:sim003:off']);
    expect(lines).toContain('POWER:1:JOB_COMPLETED:ok=3:failed=0');
    expect(lines.filter((l) => l.startsWith('EMP:2:POWER:')).sort()).toEqual(['EMP:2:POWER:sim001:off', 'EMP:2:POWER:sim002:off', 'EMP:2:POWER:sim003:off', 'EMP:2:POWER:sim004:on']);
  }, 30000);

  it('refuses this machine without FORCE (exit 1) while the other node runs; FORCE does it (exit 0)', async () => {
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, `cluster: e2e\nnodes:\n  - names: ${here}\n    vars: { power: sim }\n  - names: other1\n    vars: { power: sim }\n`);
    const refused = await vacm(['ipc', '--config', cfg, `POWER:OFF:${here},other1`], { env });
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`POWER:1:ERROR:${here}:ERR_CONTROLLER:refused\\: ${here} is the machine vacm runs on`);
    expect(refused.out).toContain('POWER:1:POWER:other1:off');
    expect(refused.out).toContain('POWER:1:JOB_COMPLETED:ok=1:failed=1');
    const forced = await vacm(['ipc', '--config', cfg, `POWER:OFF:${here}:FORCE`], { env });
    expect(forced.code).toBe(0);
    expect(forced.out).toContain(`POWER:1:POWER:${here}:off`);
  }, 30000);

  it('--read-only refuses POWER:OFF before anything runs, and STATUS still works', async () => {
    const r = await vacm(['ipc', '--read-only', '--demo', '--nodes', '2', 'POWER:OFF:sim001'], { env });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ERR_READ_ONLY/);
    expect(r.out).not.toContain('POWER:sim001:off');
    const st = await vacm(['ipc', '--read-only', '--demo', '--nodes', '2', 'POWER:STATUS:sim001'], { env });
    expect(st.code).toBe(0);
    expect(st.out).toContain('POWER:1:POWER:sim001:on');
  }, 30000);
});
