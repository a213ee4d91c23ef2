/**
 * The real `vacm` in tmux at 80x24 (issue 14): with two ipmi_sim BMCs, the quiet poller fills the
 * nodes pane's TEMP column (hottest sensor in °C, – for the node without a BMC), and the detail
 * pane of the hot node lists its sensor out of nominal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite } from './tmux.js';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';

const PASSWORD = 'pw-e2e-sens';

describe.skipIf(!tmuxAvailable() || !ipmiSimAvailable())('the TEMP column in tmux at 80x24 (needs tmux and openipmi)', () => {
  let sims: IpmiSims;
  beforeAll(async () => {
    sims = await startIpmiSims({
      count: 2,
      firstAddress: '127.0.21.141',
      user: 'admin',
      password: PASSWORD,
      sensors: (i) => [
        { number: 1, name: 'CPU Temp', type: 1, unit: 1, raw: [47, 93][i]!, upper: [80, 85, 90] },
        { number: 2, name: 'Inlet Temp', type: 1, unit: 1, raw: 25, upper: [40, 45, 50] },
      ],
    });
  }, 60000);
  afterAll(async () => {
    await sims?.stop();
  });
  const session = tmuxSuite();

  it('shows each BMC node\'s hottest temperature, – for the other, and the critical sensor in the detail pane', async () => {
    const dir = tempDir('vacm-e2e-sensors-');
    const pw = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pw, PASSWORD + '\n', { mode: 0o600 });
    const config = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(config, `cluster: temps
sensors: { interval_ms: 1000 }
sysstat: { enabled: false }
nodes:
  - names: bmc1
    vars: { bmc_host: ${sims.bmcs[0]!.host}, bmc_user: admin, bmc_password_file: ${pw}, power: none }
  - names: bmc2
    vars: { bmc_host: ${sims.bmcs[1]!.host}, bmc_user: admin, bmc_password_file: ${pw}, power: none }
  - names: plain
    vars: { power: none }
`);
    const t = session('sensors');
    t.start(`node bin/vacm.js --config ${config}`, { cwd: ROOT, columns: 80, rows: 24, env: { VACM_STATE_DIR: path.join(dir, 'state') } });
    let s = await t.waitFor((x) => x.includes('93°C') && x.includes('47°C'), 30000);
    const lines = s.split('\n');
    expect(lines.find((l) => l.includes('TEMP'))).toBeDefined();
    expect(lines.find((l) => /\bbmc1\b/.test(l) && l.includes('47°C'))).toBeDefined();
    expect(lines.find((l) => /\bbmc2\b/.test(l) && l.includes('93°C'))).toBeDefined();
    expect(lines.find((l) => /\bplain\b/.test(l) && l.includes('–'))).toBeDefined();
    // every row still fits the 80 columns
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    t.keys('j');
    s = await t.waitFor('sensors CPU Temp 93.00 C critical', 15000);
    expect(s).toContain('bmc2');
    t.keys('q');
    await t.waitFor('VACM_EXITED 0');
  }, 90000);
});
