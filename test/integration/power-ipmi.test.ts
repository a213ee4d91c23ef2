/**
 * POWER through the ipmi driver against real OpenIPMI ipmi_sim BMCs on 127.0.21.x; every result
 * is checked with ipmitool (-C 3). Also the real binary: `vacm ipc --config ... POWER:...`.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';
import { vacm } from '../helpers/cli.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = ipmiSimAvailable() && hasBinary('ipmitool');
const COUNT = 8;
const DEAD = '127.0.21.199'; // in our range; nothing answers there
const PASSWORD = 'pw-7f3a9c';

async function ipmitool(host: string): Promise<string> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', host, '-U', 'admin', '-P', PASSWORD, 'chassis', 'power', 'status'], { timeout: 15000 });
  const m = /Chassis Power is (on|off)/.exec(stdout);
  if (!m) throw new Error(`unexpected ipmitool output: ${stdout}`);
  return m[1];
}

describe.skipIf(!have)('POWER with the ipmi driver against ipmi_sim (needs openipmi and ipmitool)', () => {
  let sims: IpmiSims;
  let h: Harness;
  let dir: string;
  let yamlFile: string;

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: '127.0.21.1', user: 'admin', password: PASSWORD });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-power-ipmi-'));
    const pwFile = path.join(dir, 'bmc.pass');
    fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });
    const yaml = `
cluster: ipmilab
power: { drivers: { ipmi: { timeout_ms: 20000 } } }
nodes:
  - names: bmc[1-${COUNT}]
    vars: { power: ipmi, bmc_host: "127.0.21.{n}", bmc_user: admin, bmc_password_file: ${pwFile} }
  - names: wrongpw
    vars: { power: ipmi, bmc_host: 127.0.21.1, bmc_user: admin, bmc_password_env: VACM_TEST_WRONG_PW }
  - names: nopw
    vars: { power: ipmi, bmc_host: 127.0.21.2, bmc_user: admin }
  - names: dead
    vars: { power: ipmi, bmc_host: ${DEAD}, bmc_user: admin, bmc_password_file: ${pwFile}, power_timeout_ms: "1500" }
  - names: head
    vars: { power: ipmi, bmc_host: 127.0.21.8, bmc_user: admin, bmc_password_file: ${pwFile}, controller: "true" }
`;
    yamlFile = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(yamlFile, yaml);
    process.env.VACM_TEST_WRONG_PW = 'not-the-password';
    h = await powerEngine(yaml, { ipmi: { client: { bindAddress: '127.0.0.1', retryMs: 500 } } });
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
    delete process.env.VACM_TEST_WRONG_PW;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const all = Array.from({ length: COUNT }, (_, i) => `bmc${i + 1}`);
  const hosts = Array.from({ length: COUNT }, (_, i) => `127.0.21.${i + 1}`);

  it('reads, switches on, off and cycles 8 BMCs, and ipmitool agrees', async () => {
    const st = await h.run(`POWER:STATUS:bmc[1-${COUNT}]`);
    expect(results(st.lines)).toEqual(Object.fromEntries(all.map((n) => [n, 'off'])));

    const on = await h.run(`POWER:ON:bmc[1-${COUNT}]`);
    expect(results(on.lines)).toEqual(Object.fromEntries(all.map((n) => [n, 'on'])));
    expect(await Promise.all(hosts.map(ipmitool))).toEqual(hosts.map(() => 'on'));

    const off = await h.run('POWER:OFF:bmc[1-4]');
    expect(results(off.lines)).toEqual({ bmc1: 'off', bmc2: 'off', bmc3: 'off', bmc4: 'off' });
    expect(await Promise.all(hosts.map(ipmitool))).toEqual(['off', 'off', 'off', 'off', 'on', 'on', 'on', 'on']);

    const st2 = await h.run(`EMP:STATUS:bmc[1-${COUNT}]`);
    expect(Object.values(results(st2.lines)).sort()).toEqual(['off', 'off', 'off', 'off', 'on', 'on', 'on', 'on']);
    expect(results(st2.lines).bmc5).toBe('on');

    const cyc = await h.run('POWER:CYCLE:bmc5');
    expect(results(cyc.lines)).toEqual({ bmc5: 'on' });
    // ipmi_sim's cycle is off, then on about a second later
    let state = '';
    for (let i = 0; i < 20 && state !== 'on'; i++) {
      state = await ipmitool('127.0.21.5');
      if (state !== 'on') await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toBe('on');
  }, 60000);

  it('wrong password is ERR_IPMI_AUTH, a missing one ERR_CONFIG, and neither shows a password', async () => {
    const r = await h.run('POWER:STATUS:wrongpw,nopw,bmc1');
    const res = results(r.lines);
    expect(res).toEqual({ wrongpw: 'ERR_IPMI_AUTH', nopw: 'ERR_CONFIG', bmc1: 'off' });
    expect(messages(r.events).nopw).toMatch(/set bmc_password_file .* or bmc_password_env/);
    const text = r.lines.join('\n');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('not-the-password');
  }, 30000);

  it('a dead BMC gives ERR_TIMEOUT for its node within its timeout; the others still answer', async () => {
    const t0 = Date.now();
    const r = await h.run('POWER:STATUS:dead,bmc[1-2]');
    expect(results(r.lines)).toEqual({ dead: 'ERR_TIMEOUT', bmc1: 'off', bmc2: 'off' });
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(r.view.state).toBe('completed');
  }, 30000);

  it('the controller guard holds over ipmi too: head stays on without FORCE', async () => {
    const before = await ipmitool('127.0.21.8');
    const r = await h.run('POWER:OFF:head');
    expect(results(r.lines)).toEqual({ head: 'ERR_CONTROLLER' });
    expect(await ipmitool('127.0.21.8')).toBe(before);
  }, 30000);

  it('packet loss: with every 4th datagram dropped, all 8 BMCs still answer (retransmits)', async () => {
    let n = 0;
    const lossy = await powerEngine(`
nodes:
  - names: bmc[1-${COUNT}]
    vars: { power: ipmi, bmc_host: "127.0.21.{n}", bmc_user: admin, bmc_password_env: VACM_TEST_PW }
`, { ipmi: { client: { bindAddress: '127.0.0.1', retryMs: 300, dropOutgoing: () => ++n % 4 === 0 } } });
    process.env.VACM_TEST_PW = PASSWORD;
    try {
      const r = await lossy.run(`POWER:STATUS:bmc[1-${COUNT}]`);
      const truth = await Promise.all(hosts.map(ipmitool));
      expect(results(r.lines)).toEqual(Object.fromEntries(all.map((node, i) => [node, truth[i]])));
      expect(n).toBeGreaterThan(COUNT * 4); // datagrams were really dropped and resent
    } finally {
      await lossy.close();
      delete process.env.VACM_TEST_PW;
    }
  }, 60000);

  it('the real binary: vacm ipc --config powers BMCs off and on, exit code 0; 1 when a node fails', async () => {
    const stateDir = path.join(dir, 'state');
    const env = { VACM_STATE_DIR: stateDir, VACM_TEST_WRONG_PW: 'not-the-password' };
    const off = await vacm(['ipc', '--config', yamlFile, 'POWER:OFF:bmc[6-7]'], { env });
    expect(off.err).toBe('');
    expect(off.code).toBe(0);
    expect(off.out.trim().split('\n').sort()).toEqual(['POWER:1:JOB_COMPLETED:ok=2:failed=0', 'POWER:1:JOB_STARTED', 'POWER:1:POWER:bmc6:off', 'POWER:1:POWER:bmc7:off']);
    expect(await ipmitool('127.0.21.6')).toBe('off');

    const mixed = await vacm(['ipc', '--config', yamlFile, 'POWER:ON:bmc6,wrongpw'], { env });
    expect(mixed.code).toBe(1);
    expect(mixed.out).toContain('POWER:1:POWER:bmc6:on');
    expect(mixed.out).toMatch(/POWER:1:ERROR:wrongpw:ERR_IPMI_AUTH:/);
    expect(mixed.out).not.toContain('not-the-password');
    expect(await ipmitool('127.0.21.6')).toBe('on');
    const audit = fs.readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.map((a) => `${a.phase} ${a.request}`)).toEqual(['attempt POWER:OFF:bmc[6-7]', 'outcome POWER:OFF:bmc[6-7]', 'attempt POWER:ON:bmc6,wrongpw', 'outcome POWER:ON:bmc6,wrongpw']);
    expect(audit[3].results).toEqual({ bmc6: 'on', wrongpw: 'ERR_IPMI_AUTH' });
  }, 60000);
});
