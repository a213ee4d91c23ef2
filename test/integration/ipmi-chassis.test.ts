/**
 * POWER:IDENTIFY and POWER:BOOTDEV against real OpenIPMI ipmi_sim BMCs: identify is seen by the
 * BMC's chassis_control script, the boot device is read back by `ipmitool chassis bootparam get 5`.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';
import { powerEngine, type Harness } from '../backends/power/harness.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = ipmiSimAvailable() && hasBinary('ipmitool');
const PASSWORD = 'pw-chassis-3';

async function bootparam(host: string): Promise<string> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', host, '-U', 'admin', '-P', PASSWORD, 'chassis', 'bootparam', 'get', '5'], { timeout: 20000 });
  return /Boot Device Selector : (.+)/.exec(stdout)?.[1]?.trim() ?? `unparsed: ${stdout}`;
}

describe.skipIf(!have)('POWER:IDENTIFY and POWER:BOOTDEV against ipmi_sim (needs openipmi and ipmitool)', () => {
  let sims: IpmiSims;
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    sims = await startIpmiSims({ count: 2, firstAddress: '127.0.21.121', user: 'admin', password: PASSWORD });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-chassis-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    h = await powerEngine(
      `
cluster: chassislab
nodes:
  - names: bmc1
    vars: { power: ipmi, bmc_host: ${sims.bmcs[0]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }
  - names: bmc2
    vars: { power: ipmi, bmc_host: ${sims.bmcs[1]!.host}, bmc_user: admin, bmc_password_file: ${pwFile} }
  - names: vm1
    vars: { power: sim }
`,
      { ipmi: { client: { bindAddress: '127.0.0.1', retryMs: 500 } } },
    );
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const calls = (i: number) => (fs.existsSync(sims.bmcs[i]!.callsFile) ? fs.readFileSync(sims.bmcs[i]!.callsFile, 'utf8') : '');

  it('IDENTIFY for seconds, on and off reaches the chassis_control script of each BMC', async () => {
    const r = await h.run('POWER:IDENTIFY:bmc[1-2]:15');
    // nodes answer in any order
    expect(r.lines.filter((l) => l.includes(':IDENTIFY:')).map((l) => l.split(':').slice(3).join(':')).sort()).toEqual(['bmc1:15s', 'bmc2:15s']);
    expect(calls(0)).toContain('set identify 15 0');
    expect(calls(1)).toContain('set identify 15 0');
    await h.run('POWER:IDENTIFY:bmc1:on');
    expect(calls(0)).toContain('set identify 0 1');
    await h.run('POWER:IDENTIFY:bmc1:off');
    expect(calls(0).trim().split('\n').filter((l) => l.startsWith('set identify')).at(-1)).toBe('set identify 0 0');
    const bad = await h.run('POWER:IDENTIFY:bmc1:blink');
    expect(bad.view.error?.code).toBe('ERR_BAD_ARGS');
    const sim = await h.run('POWER:IDENTIFY:vm1:on');
    expect(sim.lines.some((l) => l.includes(':ERROR:vm1:ERR_UNSUPPORTED:'))).toBe(true);
  }, 60000);

  it('BOOTDEV sets the next boot device, ipmitool reads it back, and BOOTDEV without one reads it', async () => {
    const set = await h.run('POWER:BOOTDEV:bmc1:pxe');
    expect(set.view.dangerous).toBe(true);
    expect(set.lines.some((l) => /:BOOTDEV:bmc1:pxe:once$/.test(l))).toBe(true);
    await h.run('POWER:BOOTDEV:bmc2:cdrom:persistent:efi');
    expect(await bootparam(sims.bmcs[0]!.host)).toBe('Force PXE');
    expect(await bootparam(sims.bmcs[1]!.host)).toMatch(/CD\/DVD/);
    const read = await h.run('POWER:BOOTDEV:bmc[1-2]');
    expect(read.view.dangerous).toBe(false);
    // ipmi_sim keeps only the device, not the persistent/EFI flags: the read-back says what the BMC says
    expect(read.lines.filter((l) => l.includes(':BOOTDEV:')).map((l) => l.split(':').slice(3, 5).join(':')).sort()).toEqual(['bmc1:pxe', 'bmc2:cdrom']);
    await h.run('POWER:BOOTDEV:bmc1:default');
    expect(await bootparam(sims.bmcs[0]!.host)).toMatch(/No override/);
    expect(h.audit().some((r) => JSON.stringify(r).includes('POWER:BOOTDEV:bmc2:cdrom:persistent:efi'))).toBe(true);
    for (const line of ['POWER:BOOTDEV:bmc1:usb', 'POWER:BOOTDEV:bmc1:pxe:efi:efi']) {
      expect((await h.run(line)).view.error?.code).toBe('ERR_BAD_ARGS');
    }
  }, 60000);
});
