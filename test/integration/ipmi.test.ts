/**
 * The native RMCP+ client against real OpenIPMI ipmi_sim BMCs; each result is checked with
 * ipmitool (always -C 3) and with the state file the BMC's chassis_control script writes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpmiClient, type BmcTarget } from '../../src/backends/ipmi/client.js';
import { VacmError } from '../../src/protocol/errors.js';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const haveSim = ipmiSimAvailable();
const haveIpmitool = hasBinary('ipmitool');
if (!haveSim || !haveIpmitool) {
  console.warn('SKIP test/integration/ipmi.test.ts: needs ipmi_sim (OpenIPMI) and ipmitool; apt-get install openipmi ipmitool');
}

const COUNT = 8;
const SILENT = '127.0.20.199'; // in our loopback range, nothing listens there

async function ipmitoolStatus(t: BmcTarget): Promise<'on' | 'off'> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', t.host, '-p', String(t.port ?? 623), '-U', t.user, '-P', t.password, 'chassis', 'power', 'status'], {
    timeout: 15000,
  });
  const m = /Chassis Power is (on|off)/.exec(stdout);
  if (!m) throw new Error(`unexpected ipmitool output: ${stdout}`);
  return m[1] as 'on' | 'off';
}

async function stateFile(path: string): Promise<'on' | 'off'> {
  return (await readFile(path, 'utf8')).trim() === '1' ? 'on' : 'off';
}

describe.skipIf(!haveSim || !haveIpmitool)('IPMI RMCP+ client against ipmi_sim', () => {
  let sims: IpmiSims;
  let targets: BmcTarget[];
  const client = new IpmiClient({ retries: 3, retryMs: 500, timeoutMs: 10000, bindAddress: '127.0.0.1' });

  beforeAll(async () => {
    sims = await startIpmiSims({ count: COUNT, firstAddress: '127.0.20.1', user: 'admin', password: 'vacm-secret' });
    targets = sims.bmcs.map((b) => ({ host: b.host, port: b.port, user: sims.user, password: sims.password }));
  }, 60000);

  afterAll(async () => {
    await client.close();
    await sims?.stop();
  });

  it('reads power status of every BMC, matching ipmitool', async () => {
    const ours = await Promise.all(targets.map((t) => client.powerStatus(t)));
    const theirs = await Promise.all(targets.map((t) => ipmitoolStatus(t)));
    expect(ours).toEqual(theirs);
    expect(ours).toEqual(targets.map(() => 'off'));
  }, 30000);

  it('switches every BMC on, then off, and ipmitool agrees', async () => {
    const opened = client.stats.sessionsOpened;
    await Promise.all(targets.map((t) => client.chassisControl(t, 'on')));
    expect(await Promise.all(targets.map((t) => ipmitoolStatus(t)))).toEqual(targets.map(() => 'on'));
    expect(await Promise.all(sims.bmcs.map((b) => stateFile(b.stateFile)))).toEqual(targets.map(() => 'on'));
    expect(await Promise.all(targets.map((t) => client.powerStatus(t)))).toEqual(targets.map(() => 'on'));

    await Promise.all(targets.map((t) => client.chassisControl(t, 'off')));
    expect(await Promise.all(targets.map((t) => ipmitoolStatus(t)))).toEqual(targets.map(() => 'off'));
    expect(await Promise.all(sims.bmcs.map((b) => stateFile(b.stateFile)))).toEqual(targets.map(() => 'off'));
    expect(client.stats.sessionsOpened - opened).toBe(COUNT * 3);
  }, 60000);

  it('mixes on and off across BMCs in one batch', async () => {
    const want = targets.map((_, i) => (i % 2 === 0 ? 'on' : 'off') as 'on' | 'off');
    await Promise.all(targets.map((t, i) => client.chassisControl(t, want[i]!)));
    expect(await Promise.all(targets.map((t) => ipmitoolStatus(t)))).toEqual(want);
    expect(await Promise.all(targets.map((t) => client.powerStatus(t)))).toEqual(want);
  }, 60000);

  it('power-cycles a powered-on BMC: off, then on again (ipmi_sim waits ~1 s in between)', async () => {
    const t = targets[0]!;
    const b = sims.bmcs[0]!;
    await client.chassisControl(t, 'on');
    expect(await stateFile(b.stateFile)).toBe('on');
    await client.chassisControl(t, 'cycle');
    const seen: string[] = [];
    for (let i = 0; i < 50; i++) {
      const s = await stateFile(b.stateFile);
      if (seen[seen.length - 1] !== s) seen.push(s);
      if (s === 'on' && seen.includes('off')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toEqual(['off', 'on']);
    expect(await ipmitoolStatus(t)).toBe('on');
    expect(await client.powerStatus(t)).toBe('on');
  }, 30000);

  it('reset and soft reach the BMC\'s chassis_control as a reset and a shutdown (ipmi_sim without a VM keeps the power on for both)', async () => {
    const t = targets[0]!;
    const b = sims.bmcs[0]!;
    const calls = async () => (await readFile(b.callsFile, 'utf8').catch(() => '')).trim().split('\n').filter((l) => l !== '');
    const before = (await calls()).length;
    await client.chassisControl(t, 'reset');
    // the script's log tells a reset from a no-op: a reset is its own call, not a power change
    expect((await calls()).slice(before)).toEqual(['set reset 1']);
    expect(await ipmitoolStatus(t)).toBe('on');
    await client.chassisControl(t, 'soft');
    expect((await calls()).slice(before)).toEqual(['set reset 1', 'set shutdown 1']);
    expect(await ipmitoolStatus(t)).toBe('on');
    await client.chassisControl(t, 'off');
    expect(await ipmitoolStatus(t)).toBe('off');
  }, 30000);

  it('runs several operations on the same BMC at once, each in its own session', async () => {
    const t = targets[3]!;
    const opened = client.stats.sessionsOpened;
    const got = await Promise.all(Array.from({ length: 6 }, () => client.powerStatus(t)));
    expect(got).toEqual(Array.from({ length: 6 }, () => 'off'));
    expect(client.stats.sessionsOpened - opened).toBe(6);
  }, 30000);

  it('refuses a wrong password with ERR_IPMI_AUTH and a message naming the config keys', async () => {
    const t = { ...targets[1]!, password: 'not-the-password' };
    const err = await client.powerStatus(t).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VacmError);
    expect((err as VacmError).code).toBe('ERR_IPMI_AUTH');
    expect((err as VacmError).message).toMatch(/bmc_user/);
    expect((err as VacmError).message).toMatch(/bmc_password_file/);
    expect((err as VacmError).message).not.toContain('not-the-password');
  });

  it('refuses an unknown user with ERR_IPMI_AUTH', async () => {
    const t = { ...targets[1]!, user: 'nobody' };
    await expect(client.chassisControl(t, 'on')).rejects.toMatchObject({ code: 'ERR_IPMI_AUTH' });
    expect(await ipmitoolStatus(targets[1]!)).toBe('off');
  });

  it('gives ERR_TIMEOUT within the deadline when nothing listens', async () => {
    const quick = new IpmiClient({ retries: 2, retryMs: 200, timeoutMs: 1500, bindAddress: '127.0.0.1' });
    const t0 = performance.now();
    const err = await quick.powerStatus({ host: SILENT, user: 'admin', password: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    await quick.close();
    expect((err as VacmError).code).toBe('ERR_TIMEOUT');
    expect(ms).toBeLessThan(2500);
    expect(quick.stats.retransmits).toBe(2);
    expect(quick.stats.packetsSent).toBe(3);
  });

  it('stops at the whole-operation deadline even with generous retries', async () => {
    const quick = new IpmiClient({ retries: 100, retryMs: 100, timeoutMs: 700, bindAddress: '127.0.0.1' });
    const t0 = performance.now();
    await expect(quick.chassisControl({ host: SILENT, user: 'admin', password: 'x' }, 'on')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(performance.now() - t0).toBeLessThan(1500);
    await quick.close();
  });

  it('cancels through an AbortSignal with ERR_CANCELLED', async () => {
    const ctl = new AbortController();
    const t0 = performance.now();
    const p = client.powerStatus({ host: SILENT, user: 'admin', password: 'x' }, ctl.signal);
    setTimeout(() => ctl.abort(), 100);
    await expect(p).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('survives lost datagrams by retransmitting', async () => {
    let toDrop = 3;
    const dropped: number[] = [];
    let n = 0;
    const lossy = new IpmiClient({
      retries: 3,
      retryMs: 150,
      timeoutMs: 10000,
      bindAddress: '127.0.0.1',
      // drop every 2nd datagram until three have been lost: hits session setup and session traffic
      dropOutgoing: (_pkt, host) => {
        if (host !== targets[2]!.host) return false;
        n++;
        if (toDrop > 0 && n % 2 === 1) {
          toDrop--;
          dropped.push(n);
          return true;
        }
        return false;
      },
    });
    try {
      await lossy.chassisControl(targets[2]!, 'on');
      expect(await lossy.powerStatus(targets[2]!)).toBe('on');
      expect(dropped.length).toBe(3);
      expect(lossy.stats.retransmits).toBeGreaterThanOrEqual(3);
      expect(lossy.stats.packetsDropped).toBe(3);
      expect(await ipmitoolStatus(targets[2]!)).toBe('on');
    } finally {
      await lossy.close();
    }
  }, 30000);

  it('survives a lost reply at every step of an operation (caps .. close)', async () => {
    const t = targets[4]!;
    // one operation gets 7 replies: caps, open session, RAKP 2, RAKP 4, set privilege, command, close
    for (let k = 1; k <= 7; k++) {
      let n = 0;
      const want = k % 2 === 1 ? 'on' : 'off';
      const lossy = new IpmiClient({ retries: 3, retryMs: 150, timeoutMs: 10000, bindAddress: '127.0.0.1', dropIncoming: () => ++n === k });
      try {
        await lossy.chassisControl(t, want);
        await lossy.settled(); // Close Session goes on after the answer
        expect(lossy.stats.packetsDropped, `reply ${k} lost`).toBe(1);
        expect(lossy.stats.retransmits, `reply ${k} lost`).toBeGreaterThanOrEqual(1);
      } finally {
        await lossy.close();
      }
      expect(await ipmitoolStatus(t), `reply ${k} lost`).toBe(want);
    }
  }, 60000);

  it('drives all BMCs through one socket at once, status after each batch agreeing with ipmitool', async () => {
    for (const action of ['off', 'on', 'off'] as const) {
      await Promise.all(targets.map((t) => client.chassisControl(t, action)));
      const got = await Promise.all(targets.map((t) => client.powerStatus(t)));
      expect(got).toEqual(targets.map(() => action));
    }
    expect(await Promise.all(targets.map((t) => ipmitoolStatus(t)))).toEqual(targets.map(() => 'off'));
  }, 60000);
});
