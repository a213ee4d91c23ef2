import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../../src/backends/sim/cluster.js';
import type { PowerDriver } from '../../../src/backends/capabilities.js';
import type { PowerActionName } from '../../../src/protocol/power.js';
import type { ModuleDef } from '../../../src/protocol/module.js';
import { parsePowerSection } from '../../../src/backends/power/settings.js';
import { bmcPassword } from '../../../src/backends/ipmi/target.js';
import { messages, powerEngine, results, type Harness } from './harness.js';
import { createProviders } from '../../../src/backends/providers.js';
import { until } from '../../helpers/wait.js';

const SIM_YAML = `
cluster: t
nodes:
  - names: n[01-08]
    vars: { power: sim }
  - names: head01
    vars: { power: sim }
  - names: ctl01
    vars: { power: sim, controller: "true" }
`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A driver that records its calls and answers from a table of states after `delayMs`. */
function fakeDriver(name: string, actions: PowerActionName[], opts: { delayMs?: number; never?: boolean } = {}) {
  const calls: { action: PowerActionName; nodes: string[]; at: number; end?: number }[] = [];
  const driver: PowerDriver = {
    name,
    actions,
    async run(action, nodes, { signal, report }) {
      const call = { action, nodes: nodes.map((n) => n.node), at: Date.now() } as (typeof calls)[number];
      calls.push(call);
      if (opts.never) {
        await new Promise<void>((res) => signal.addEventListener('abort', () => res(), { once: true }));
        return;
      }
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
      call.end = Date.now();
      for (const n of nodes) report(n.node, action === 'off' || action === 'soft' ? 'off' : 'on');
    },
  };
  return { driver, calls };
}

describe('POWER with the sim driver', () => {
  it('switches nodes off, on, cycles them and reads their state, one POWER line per node', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim) });
    const off = await h.run('POWER:OFF:n[01-04]');
    expect(results(off.lines)).toEqual({ n01: 'off', n02: 'off', n03: 'off', n04: 'off' });
    expect(off.lines.at(-1)).toBe(`POWER:${off.view.id}:JOB_COMPLETED:ok=4:failed=0`);
    expect(sim.get('n02').power).toBe('off');

    const st = await h.run('POWER:STATUS:n[01-08]');
    expect(results(st.lines)).toEqual({ n01: 'off', n02: 'off', n03: 'off', n04: 'off', n05: 'on', n06: 'on', n07: 'on', n08: 'on' });

    const on = await h.run('POWER:ON:n[01-02]');
    expect(results(on.lines)).toEqual({ n01: 'on', n02: 'on' });
    const cyc = await h.run('POWER:CYCLE:n03');
    expect(results(cyc.lines)).toEqual({ n03: 'on' });
    const soft = await h.run('POWER:SOFT:n05');
    expect(results(soft.lines)).toEqual({ n05: 'off' });
    const reset = await h.run('POWER:RESET:n06');
    expect(results(reset.lines)).toEqual({ n06: 'on' });
    // the engine's store learns the state from the POWER events
    expect(h.engine.node('n04')?.power).toBe('off');
    expect(h.engine.node('n01')?.power).toBe('on');
  });

  it('answers to VACM\'s EMP and IPMI names too', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim) });
    expect(results((await h.run('EMP:POWER_OFF:n01')).lines)).toEqual({ n01: 'off' });
    expect(results((await h.run('emp:status:n[01-02]')).lines)).toEqual({ n01: 'off', n02: 'on' });
    expect(results((await h.run('IPMI:POWER_ON:n01')).lines)).toEqual({ n01: 'on' });
    expect(results((await h.run('IPMI:POWER_CYCLE:n02')).lines)).toEqual({ n02: 'on' });
    const r = await h.run('EMP:RESET:n02');
    expect(r.lines[1]).toBe(`EMP:${r.view.id}:POWER:n02:on`);
  });
});

describe('the controller guard', () => {
  it('refuses the controller and this machine, still runs the other nodes, and FORCE overrides', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    for (const n of ['n01', 'head01', 'ctl01']) sim.add(n, { power: 'on' });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim), localName: 'head01' });
    for (const cmd of ['OFF', 'CYCLE', 'RESET', 'SOFT']) {
      const r = await h.run(`POWER:${cmd}:n01,head01,ctl01`);
      const res = results(r.lines);
      expect(res.head01).toBe('ERR_CONTROLLER');
      expect(res.ctl01).toBe('ERR_CONTROLLER');
      expect(res.n01).toMatch(/^(on|off)$/);
      expect(r.view.ok).toBe(1);
      expect(r.view.failed).toBe(2);
      const msg = messages(r.events);
      expect(msg.ctl01).toContain('controller: true');
      expect(msg.ctl01).toContain(`end the request with :FORCE (e.g. POWER:${cmd}:ctl01:FORCE)`);
      expect(msg.head01).toContain('the machine vacm runs on');
    }
    expect(sim.get('ctl01').power).toBe('on');
    expect(sim.get('head01').power).toBe('on');

    // ON and STATUS are never refused
    expect(results((await h.run('POWER:STATUS:head01,ctl01')).lines)).toEqual({ head01: 'on', ctl01: 'on' });

    const forced = await h.run('POWER:OFF:ctl01,head01:force');
    expect(results(forced.lines)).toEqual({ ctl01: 'off', head01: 'off' });
    expect(sim.get('ctl01').power).toBe('off');
  });

  it('also knows this machine from its node view (local: true)', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim), localName: 'n08' });
    expect(results((await h.run('EMP:POWER_OFF:n07,n08')).lines)).toEqual({ n07: 'off', n08: 'ERR_CONTROLLER' });
  });

  it('writes the audit record before the action and again with each node\'s result', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim) });
    const r = await h.run('POWER:OFF:n[01-02],ctl01');
    await h.run('POWER:STATUS:n01'); // reading is not audited
    const recs = h.audit();
    expect(recs.map((x) => x.phase)).toEqual(['attempt', 'outcome']);
    expect(recs[0]).toMatchObject({ phase: 'attempt', job: r.view.id, request: 'POWER:OFF:n[01-02],ctl01', count: 3 });
    expect(recs[1]).toMatchObject({ phase: 'outcome', state: 'completed', ok: 2, failed: 1, results: { n01: 'off', n02: 'off', ctl01: 'ERR_CONTROLLER' } });
  });
});

describe('no misfire', () => {
  it('a request naming one unknown node switches nothing at all', async () => {
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    for (const n of ['n01', 'n02']) sim.add(n, { power: 'on' });
    h = await powerEngine(SIM_YAML, { providers: createProviders(sim) });
    expect(() => h!.engine.submit('POWER:OFF:n[01-02],n2')).toThrow(/not in the nodelist: n2/);
    expect(sim.get('n01').power).toBe('on');
    expect(sim.get('n02').power).toBe('on');
    expect(h.audit()).toEqual([]);
  });
});

describe('audit order', () => {
  it('the attempt record is on disk before the driver switches anything', async () => {
    let seenByDriver: Record<string, unknown>[] = [];
    let stateDir = '';
    const spy: PowerDriver = {
      name: 'libvirt',
      actions: ['on', 'off', 'status'],
      async run(_a, nodes, { report }) {
        const f = path.join(stateDir, 'audit.jsonl');
        seenByDriver = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        for (const n of nodes) report(n.node, 'off');
      },
    };
    h = await powerEngine('nodes: [{ names: "v[1-2]", vars: { power: libvirt } }]', { drivers: { libvirt: spy } });
    stateDir = h.stateDir;
    await h.run('POWER:OFF:v[1-2]');
    expect(seenByDriver).toHaveLength(1);
    expect(seenByDriver[0]).toMatchObject({ phase: 'attempt', request: 'POWER:OFF:v[1-2]', targets: 'v[1-2]', count: 2 });
    expect(h.audit().map((r) => r.phase)).toEqual(['attempt', 'outcome']);
  });
});

describe('drivers and node sets', () => {
  it('splits a node set by driver and runs the groups in parallel', async () => {
    const a = fakeDriver('libvirt', ['on', 'off', 'status'], { delayMs: 300 });
    const b = fakeDriver('powerman', ['on', 'off', 'status'], { delayMs: 300 });
    h = await powerEngine(`
nodes:
  - names: vm[1-3]
    vars: { power: libvirt }
  - names: pdu[1-2]
    vars: { power: powerman }
`, { drivers: { libvirt: a.driver, powerman: b.driver } });
    const r = await h.run('POWER:OFF:vm[1-3],pdu[1-2]');
    expect(results(r.lines)).toEqual({ vm1: 'off', vm2: 'off', vm3: 'off', pdu1: 'off', pdu2: 'off' });
    expect(a.calls.map((c) => c.nodes)).toEqual([['vm1', 'vm2', 'vm3']]);
    expect(b.calls.map((c) => c.nodes)).toEqual([['pdu1', 'pdu2']]);
    // in parallel: each started before the other ended
    expect(a.calls[0].at).toBeLessThan(b.calls[0].end!);
    expect(b.calls[0].at).toBeLessThan(a.calls[0].end!);
  });

  it('says what to set when a node has no driver, and what a driver can do when it lacks the action', async () => {
    const ssh = fakeDriver('ssh', ['soft', 'reset', 'status']);
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(`
nodes:
  - names: a1
    vars: { power: none }
  - names: a2
  - names: a3
    vars: { power: toaster }
  - names: a4
    vars: { power: ssh }
  - names: a5
    vars: { power: sim }
  - names: a6
    vars: { power: sim, power_timeout_ms: soon }
`, { providers: createProviders(sim), drivers: { ssh: ssh.driver } });
    const r = await h.run('POWER:ON:a[1-6]');
    expect(results(r.lines)).toEqual({ a1: 'ERR_UNSUPPORTED', a2: 'ERR_UNSUPPORTED', a3: 'ERR_CONFIG', a4: 'ERR_UNSUPPORTED', a5: 'on', a6: 'ERR_CONFIG' });
    expect(messages(r.events).a6).toBe('power_timeout_ms is "soon": set it to a whole number of milliseconds from 1 to 3600000');
    const msg = messages(r.events);
    expect(msg.a1).toMatch(/a1 has power: none; set power to one of ipmi, powerman, libvirt, ssh, sim/);
    expect(msg.a2).toMatch(/a2 has no power variable; set power/);
    expect(msg.a3).toMatch(/power: toaster, which is no driver/);
    expect(msg.a4).toBe('the ssh power driver cannot do ON; it does SOFT, RESET, STATUS');
    expect(ssh.calls).toEqual([]);
    expect(r.view.state).toBe('completed');
    expect(r.view.failed).toBe(5);
  });

  it('gives a dead peer ERR_TIMEOUT within the node\'s timeout and ends the job', async () => {
    const dead = fakeDriver('ipmi', ['on', 'off', 'status'], { never: true });
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine(`
power: { timeout_ms: 30000, drivers: { ipmi: { timeout_ms: 400 } } }
nodes:
  - names: b[1-2]
    vars: { power: ipmi }
  - names: b3
    vars: { power: ipmi, power_timeout_ms: "200" }
  - names: s1
    vars: { power: sim }
`, { providers: createProviders(sim), drivers: { ipmi: dead.driver } });
    const t0 = Date.now();
    const r = await h.run('POWER:STATUS:b[1-3],s1');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(results(r.lines)).toEqual({ b1: 'ERR_TIMEOUT', b2: 'ERR_TIMEOUT', b3: 'ERR_TIMEOUT', s1: 'on' });
    expect(messages(r.events).b3).toContain('within 200 ms');
    expect(messages(r.events).b1).toContain('within 400 ms');
    expect(r.view.state).toBe('completed');
  });

  it('staggers ON of many nodes in batches (power_on_batch, power_on_interval_ms)', async () => {
    const d = fakeDriver('libvirt', ['on', 'off', 'status']);
    h = await powerEngine(`
power: { power_on_batch: 2, power_on_interval_ms: 150 }
nodes:
  - names: v[1-5]
    vars: { power: libvirt }
`, { drivers: { libvirt: d.driver } });
    const r = await h.run('POWER:ON:v[1-5]');
    expect(Object.values(results(r.lines))).toEqual(['on', 'on', 'on', 'on', 'on']);
    expect(d.calls.map((c) => c.nodes)).toEqual([['v1', 'v2'], ['v3', 'v4'], ['v5']]);
    expect(d.calls[1].at - d.calls[0].at).toBeGreaterThanOrEqual(140);
    // OFF is never staggered
    await h.run('POWER:OFF:v[1-5]');
    expect(d.calls.at(-1)!.nodes).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  });

  it('refuses a bad power section at start with the key and what to write', async () => {
    await expect(powerEngine('power: { timeout: 5 }\nnodes: [{ names: x }]')).rejects.toThrow(/power\.timeout: unknown key; power takes timeout_ms/);
    await expect(powerEngine('power: { drivers: { ipmi: { timeout_ms: -1 } } }\nnodes: [{ names: x }]')).rejects.toThrow(/power\.drivers\.ipmi\.timeout_ms: must be a whole number/);
    expect(parsePowerSection({ power_on_batch: 16, power_on_interval_ms: 2000 })).toMatchObject({ powerOnBatch: 16, powerOnIntervalMs: 2000, timeoutMs: 30000 });
  });

  it('cancels cleanly: CANCEL of a POWER job ends it', async () => {
    const dead = fakeDriver('ipmi', ['on', 'off', 'status'], { never: true });
    h = await powerEngine('nodes: [{ names: "c[1-3]", vars: { power: ipmi } }]', { drivers: { ipmi: dead.driver } });
    const job = h.engine.submit('POWER:STATUS:c[1-3]');
    setTimeout(() => job.cancel(), 100);
    const v = await job.done;
    expect(v.state).toBe('cancelled');
  });
});

describe('the control lane under bulk load', () => {
  it('POWER:STATUS completes while a bulk job saturates the fanout', async () => {
    // a test-only bulk module whose operations each take 2 s (`busy`: how many run now)
    let busy = 0;
    const slow: ModuleDef = {
      tag: 'SLOWBULK', summary: 'test', commands: [{
        name: 'WAIT', summary: 'wait', nodes: 'required', args: [], lane: 'bulk', dangerous: false,
        run: (ctx) => ctx.forEachNode(ctx.nodes, ({ signal }) => new Promise<void>((res) => {
          busy++;
          let over = false;
          const done = () => { if (!over) busy--; over = true; res(); };
          const t = setTimeout(done, 2000);
          signal.addEventListener('abort', () => { clearTimeout(t); done(); }, { once: true });
        })),
      }],
    };
    const sim = new SimCluster({ delayScale: 0, failureRate: 0 });
    h = await powerEngine('fanout: 2\nnodes: [{ names: "w[01-20]", vars: { power: sim } }]', { providers: createProviders(sim), extra: [slow] });
    const bulk = h.engine.submit('SLOWBULK:WAIT:w[01-20]');
    await until('the bulk job filling the fanout', () => busy === 2);
    const r = await h.run('POWER:STATUS:w[01-20]');
    expect(r.view.ok).toBe(20);
    expect(h.engine.job(bulk.id)?.state).toBe('running'); // still 18 s of bulk work queued
    bulk.cancel();
    await bulk.done;
  });
});

describe('BMC passwords', () => {
  it('come from an environment variable, a file, or the variable, and errors never show them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-pw-'));
    const file = path.join(dir, 'bmc.pass');
    fs.writeFileSync(file, 's3cret-file\n');
    expect(bmcPassword('n1', { bmc_password_env: 'VACM_TEST_PW' }, { VACM_TEST_PW: 's3cret-env' })).toBe('s3cret-env');
    expect(bmcPassword('n1', { bmc_password_file: file })).toBe('s3cret-file');
    expect(bmcPassword('n1', { bmc_password: 's3cret-var' })).toBe('s3cret-var');
    expect(() => bmcPassword('n1', {})).toThrow(/no BMC password; set bmc_password_file .* or bmc_password_env/);
    expect(() => bmcPassword('n1', { bmc_password_env: 'NOPE_PW' }, {})).toThrow(/\$NOPE_PW, which is not set/);
    expect(() => bmcPassword('n1', { bmc_password_file: path.join(dir, 'missing') })).toThrow(/cannot read bmc_password_file .*ENOENT/);
    fs.writeFileSync(file, '');
    expect(() => bmcPassword('n1', { bmc_password_file: file })).toThrow(/is empty/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('NEXXUS:HELP lists POWER with what is dangerous', () => {
  it('STATUS is not dangerous, the switching commands are', async () => {
    const { nexxusModule } = await import('../../../src/backends/nexxus.js');
    h = await powerEngine('nodes: [{ names: x1, vars: { power: sim } }]', { providers: createProviders(new SimCluster({ delayScale: 0 })), extra: [nexxusModule] });
    const r = await h.run('NEXXUS:HELP::POWER');
    const help = Object.fromEntries(r.events.flatMap((e) => (e.type === 'HELP' ? [[e.command, e.dangerous]] : [])));
    expect(help).toEqual({ ON: true, OFF: true, CYCLE: true, RESET: true, SOFT: true, STATUS: false, BOOT: true, IDENTIFY: false, BOOTDEV: false }); // BOOTDEV is dangerous only with a device (setting it)
  });
});
