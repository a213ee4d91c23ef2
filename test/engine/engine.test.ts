import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, run } from '../helpers/engine.js';
import { until } from '../helpers/wait.js';
import type { CommandDef, ModuleDef } from '../../src/protocol/module.js';
import { VacmError } from '../../src/protocol/errors.js';
import { Registry } from '../../src/engine/registry.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import type { Engine } from '../../src/engine/engine.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); rej(new VacmError('ERR_CANCELLED', 'cancelled')); }, { once: true });
  });

function cmd(c: Partial<CommandDef> & Pick<CommandDef, 'name' | 'run'>): CommandDef {
  return { summary: c.name, nodes: 'required', args: [], lane: 'bulk', dangerous: false, ...c };
}

/**
 * What the tests wait on, never a fixed sleep: SLOW's node operations running now in this test's
 * engine (a fresh count per setup, so a previous test's leftovers do not count), and whether
 * LATE's late emit has happened.
 */
let busy = { now: 0 };
let lateEmitted = false;

/** A test module: SLOW sleeps per node (bulk), HANG ignores everything, THROW throws, FLAKY fails odd nodes. */
const testModule: ModuleDef = {
  tag: 'TEST',
  summary: 'test module',
  commands: [
    cmd({
      name: 'SLOW', args: [{ name: 'ms' }],
      async run(ctx) {
        const count = busy;
        await ctx.forEachNode(ctx.nodes, async (n) => {
          count.now++;
          try {
            await sleep(Number(ctx.args.ms), n.signal);
          } finally {
            count.now--;
          }
        });
      },
    }),
    cmd({ name: 'HANG', nodes: 'none', jobTimeoutMs: 300, async run() { await new Promise(() => {}); } }),
    cmd({ name: 'QUICK', nodes: 'none', jobTimeoutMs: 300, async run() {} }),
    cmd({ name: 'HANG_NODE', async run(ctx) { await ctx.forEachNode(ctx.nodes, () => new Promise(() => {}), { timeoutMs: 100 }); } }),
    cmd({ name: 'THROW', nodes: 'none', async run() { throw new TypeError('boom'); } }),
    cmd({ name: 'THROW_NODE', async run(ctx) { await ctx.forEachNode(ctx.nodes, async (n) => { if (n.node.endsWith('3')) throw new VacmError('ERR_EXEC', 'nope'); }); } }),
    cmd({ name: 'FLAKY', async run(ctx) { await ctx.forEachNode(ctx.nodes, async (n) => (Number(n.node.slice(-1)) % 2 ? 'failed' : 'ok')); } }),
    cmd({ name: 'CHANGE', lane: 'control', dangerous: true, async run(ctx) { await ctx.forEachNode(ctx.nodes, async () => {}); } }),
    cmd({ name: 'ITER', nodes: 'none', async *run() { yield { type: 'NODELIST', node: 'x' }; yield { type: 'NODELIST', node: 'y' }; } }),
    cmd({ name: 'LATE', nodes: 'none', lane: 'control', async run(ctx) { setTimeout(() => { ctx.emit({ type: 'NODELIST', node: 'late' }); lateEmitted = true; }, 20); } }),
  ],
};

let current: Engine | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});
async function setup(extra: Partial<Parameters<typeof makeEngine>[0]> = {}) {
  busy = { now: 0 };
  const r = await makeEngine({ modules: [testModule], ...extra });
  current = r.engine;
  return r;
}

describe('jobs', () => {
  it('answers NEXXUS:NODE_LIST in VACM shape: JOB_STARTED first, one terminal event last', async () => {
    const { engine } = await setup();
    const lines = await run(engine, 'nexxus:node_list');
    expect(lines[0]).toBe('NEXXUS:1:JOB_STARTED');
    expect(lines.slice(1, -1)).toEqual([...Array.from({ length: 8 }, (_, i) => `NEXXUS:1:NODELIST:node0${i + 1}`), 'NEXXUS:1:NODELIST:head01']);
    expect(lines.at(-1)).toBe('NEXXUS:1:JOB_COMPLETED:ok=9:failed=0');
  });

  it('counts job ids up from 1 and wraps past 2^32-1 back to 1', async () => {
    const { engine } = await setup();
    const first = engine.submit('NEXXUS:MODULES');
    expect(first.id).toBe(1);
    await first.done;
    const running = engine.submit('TEST:SLOW:node01:300');
    expect(running.id).toBe(2);
    (engine as unknown as { lastId: number }).lastId = 0xfffffffe;
    expect(engine.submit('NEXXUS:MODULES').id).toBe(0xffffffff);
    expect(engine.submit('NEXXUS:MODULES').id).toBe(1); // wrapped: 0 is never used
    expect(engine.submit('NEXXUS:MODULES').id).toBe(3); // 2 is still running: skipped
    await running.done;
  });

  it('emits exactly one terminal event for every outcome', async () => {
    const { engine, events } = await setup({ engine: { cancelGraceMs: 50 } });
    for (const l of ['TEST:SLOW:node[01-03]:5', 'TEST:THROW', 'TEST:HANG', 'TEST:HANG_NODE:node01', 'TEST:FLAKY:node[01-04]', 'TEST:ITER']) {
      await engine.submit(l).done;
    }
    const byJob = new Map<number, string[]>();
    for (const e of events) if (e.job) byJob.set(e.job, [...(byJob.get(e.job) ?? []), e.type]);
    expect(byJob.size).toBe(6);
    for (const types of byJob.values()) {
      expect(types[0]).toBe('JOB_STARTED');
      const terminal = types.filter((t) => t === 'JOB_COMPLETED' || t === 'JOB_FAILED' || t === 'JOB_CANCELLED');
      expect(terminal).toHaveLength(1);
      expect(['JOB_COMPLETED', 'JOB_FAILED', 'JOB_CANCELLED']).toContain(types.at(-1));
    }
  });

  it('turns a module that throws into JOB_FAILED with a code, and keeps serving', async () => {
    const { engine } = await setup();
    const lines = await run(engine, 'TEST:THROW');
    expect(lines.at(-1)).toBe('TEST:1:JOB_FAILED:ERR_MODULE:boom');
    expect((await run(engine, 'NEXXUS:MODULES')).at(-1)).toBe('NEXXUS:2:JOB_COMPLETED:ok=2:failed=0');
  });

  it('ends a hung module at its job deadline with ERR_TIMEOUT', async () => {
    const { engine } = await setup({ engine: { cancelGraceMs: 50 } });
    const lines = await run(engine, 'TEST:HANG');
    expect(lines.at(-1)).toMatch(/^TEST:1:JOB_FAILED:ERR_TIMEOUT:/);
  });

  it('ends each hung job at its own deadline, however many jobs of the same timeout finished around it', async () => {
    const { engine } = await setup({ engine: { cancelGraceMs: 50 } });
    const first = engine.submit('TEST:HANG');
    const quick = Array.from({ length: 3000 }, () => engine.submit('TEST:QUICK').done);
    const second = engine.submit('TEST:HANG');
    expect((await Promise.all(quick)).every((v) => v.state === 'completed')).toBe(true);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect([a.state, a.error?.code, b.state, b.error?.code]).toEqual(['failed', 'ERR_TIMEOUT', 'failed', 'ERR_TIMEOUT']);
    // and after those deadlines fired, a new job gets one again
    const third = await engine.submit('TEST:HANG').done;
    expect(third.error?.code).toBe('ERR_TIMEOUT');
  });

  it('times out a hung node operation and counts the node failed', async () => {
    const { engine } = await setup();
    const lines = await run(engine, 'TEST:HANG_NODE:node[01-02]');
    expect(lines).toContain('TEST:1:ERROR:node01:ERR_TIMEOUT:no answer within 100 ms');
    expect(lines.at(-1)).toBe('TEST:1:JOB_COMPLETED:ok=0:failed=2');
  });

  it('reports per-node errors with their code while the other nodes finish', async () => {
    const { engine } = await setup();
    const lines = await run(engine, 'TEST:THROW_NODE:node[01-04]');
    expect(lines).toContain('TEST:1:ERROR:node03:ERR_EXEC:nope');
    expect(lines.at(-1)).toBe('TEST:1:JOB_COMPLETED:ok=3:failed=1');
  });

  it('accepts modules that yield their events', async () => {
    const { engine } = await setup();
    expect(await run(engine, 'TEST:ITER')).toEqual(['TEST:1:JOB_STARTED', 'TEST:1:NODELIST:x', 'TEST:1:NODELIST:y', 'TEST:1:JOB_COMPLETED:ok=0:failed=0']);
  });

  it('drops events a module emits after its job ended', async () => {
    const { engine, events } = await setup();
    lateEmitted = false;
    await run(engine, 'TEST:LATE');
    await until('LATE to emit after its end', () => lateEmitted);
    expect(events.filter((e) => e.job === 1).map((e) => e.type)).toEqual(['JOB_STARTED', 'JOB_COMPLETED']);
  });

  it('cancels through NEXXUS:CANCEL: the job ends JOB_CANCELLED and its queued nodes never run', async () => {
    const { engine } = await setup();
    const h = engine.submit('TEST:SLOW:node[01-08]:5000');
    await until('the first nodes running', () => busy.now > 0);
    const cancel = await run(engine, `NEXXUS:CANCEL::${h.id}`);
    expect(cancel).toContain(`NEXXUS:2:CANCELLED:${h.id}`);
    const v = await h.done;
    expect(v.state).toBe('cancelled');
    expect(v.events.at(-1)?.type).toBe('JOB_CANCELLED');
    expect(v.ok + v.failed).toBe(0);
    expect((await run(engine, 'NEXXUS:CANCEL::999')).at(-1)).toMatch(/JOB_FAILED:ERR_NO_SUCH_JOB/);
  });

  it('refuses unparseable, unknown and unresolvable requests with job 0 errors', async () => {
    const { engine, events } = await setup();
    for (const [line, code] of [['', 'ERR_PROTO_PARSE'], ['FOO:BAR', 'ERR_UNKNOWN_MODULE'], ['NEXXUS:BAR', 'ERR_UNKNOWN_COMMAND'], ['TEST:SLOW:node99:1', 'ERR_NO_SUCH_NODE'], ['TEST:SLOW:node[01-:1', 'ERR_NODESET_PARSE'], ['TEST:SLOW:@nogroup:1', 'ERR_NODESET_PARSE']]) {
      expect(() => engine.submit(line)).toThrow(VacmError);
      const e = events.at(-1)!;
      expect(e).toMatchObject({ job: 0, tag: 'NEXXUS', type: 'ERROR', code });
    }
    expect((await run(engine, 'NEXXUS:MODULES')).at(-1)).toMatch(/COMPLETED/);
  });

  it('names the unknown nodes, folded', async () => {
    const { engine } = await setup();
    expect(() => engine.submit('TEST:SLOW:node[07-12]:1')).toThrow(/4 nodes not in the nodelist: node\[09-12\]/);
  });

  it('resolves groups, wildcards and operators against the nodelist', async () => {
    const { engine } = await setup();
    expect(engine.resolve('@rack1!node0[2-7]')).toEqual(['node01', 'node08']);
    expect(engine.resolve('node0*&@compute')).toHaveLength(8);
    expect(engine.resolve('*')).toHaveLength(9);
    expect(engine.resolve('head*,node01')).toEqual(['node01', 'head01']);
  });
});

describe('lanes', () => {
  it('a control-lane job completes while bulk jobs saturate the fanout with slow operations', async () => {
    const { engine } = await setup(); // fanout 4
    const bulk = [engine.submit('TEST:SLOW:node[01-08]:400'), engine.submit('TEST:SLOW:node[01-08]:400')];
    await until('the fanout full', () => busy.now === 4);
    expect(engine.job(bulk[0].id)!.done).toBe(0); // the fanout is full of slow operations
    const control = engine.submit('NEXXUS:GET_VAR:node[01-08]:host');
    const cv = await control.done;
    expect(cv.state).toBe('completed');
    expect(cv.ok).toBe(8);
    // the bulk jobs were still running when the control job had finished
    expect(engine.job(bulk[0].id)!.state).toBe('running');
    expect(engine.job(bulk[1].id)!.state).toBe('running');
    for (const b of bulk) b.cancel();
    await Promise.all(bulk.map((b) => b.done));
  });

  it('shares the fanout round-robin between bulk jobs', async () => {
    const { engine } = await setup();
    const big = engine.submit('TEST:SLOW:node[01-08]:60');
    const small = engine.submit('TEST:SLOW:node01:60');
    const sv = await small.done;
    const bv = engine.job(big.id)!;
    expect(sv.state).toBe('completed');
    expect(bv.state).toBe('running'); // the small job did not wait for all 8 of the big one
    await big.done;
  });
});

describe('variables', () => {
  it('gets, sets and unsets, and tells modules of the change', async () => {
    const { engine } = await setup();
    const seen: string[] = [];
    engine.onVarChange((n, k, v) => seen.push(`${n}.${k}=${v ?? '(unset)'}`));
    expect(await run(engine, 'NEXXUS:GET_VAR:node[01-02]:host')).toEqual([
      'NEXXUS:1:JOB_STARTED', 'NEXXUS:1:VAR:node01:host:127.0.10.1', 'NEXXUS:1:VAR:node02:host:127.0.10.2', 'NEXXUS:1:JOB_COMPLETED:ok=2:failed=0',
    ]);
    await run(engine, 'NEXXUS:SET_VAR:node01:libvirt_uri:qemu:///system');
    expect(engine.vars('node01').libvirt_uri).toBe('qemu:///system');
    expect(engine.node('node01')!.vars.libvirt_uri).toBe('qemu:///system');
    expect((await run(engine, 'NEXXUS:UNSET_VAR:node[01-02]:libvirt_uri')).at(-1)).toBe('NEXXUS:3:JOB_COMPLETED:ok=1:failed=1');
    expect(seen).toEqual(['node01.libvirt_uri=qemu:///system', 'node01.libvirt_uri=(unset)']);
    expect(await run(engine, 'NEXXUS:GET_VAR:node01:nope')).toContain('NEXXUS:4:ERROR:node01:ERR_NO_SUCH_VAR:node01 has no variable nope');
  });

  it('a module sees a changed variable on its next use', async () => {
    const seen: string[] = [];
    const probe: ModuleDef = { tag: 'PROBE', summary: 'p', commands: [cmd({ name: 'HOST', async run(ctx) { await ctx.forEachNode(ctx.nodes, async (n) => { seen.push(n.vars.host); }); } })] };
    const { engine } = await setup({ modules: [probe] });
    await run(engine, 'PROBE:HOST:node01');
    await run(engine, 'NEXXUS:SET_VAR:node01:host:10.9.9.9');
    await run(engine, 'PROBE:HOST:node01');
    expect(seen).toEqual(['127.0.10.1', '10.9.9.9']);
  });
});

describe('NEXXUS:JOBS and MODULES', () => {
  it('JOBS lists earlier jobs with state and progress (nodes, or items for a job without nodes); MODULES every module', async () => {
    const { engine } = await setup();
    await run(engine, 'NEXXUS:NODE_LIST:node0[1-3]');
    await run(engine, 'NEXXUS:GROUPS');
    await run(engine, 'TEST:FLAKY:node0[1-4]');
    const jobs = await run(engine, 'NEXXUS:JOBS');
    expect(jobs.filter((l) => l.includes(':JOB:'))).toEqual([
      'NEXXUS:4:JOB:1:completed:3/3:NEXXUS:NODE_LIST:node0[1-3]',
      'NEXXUS:4:JOB:2:completed:2/2:NEXXUS:GROUPS',
      'NEXXUS:4:JOB:3:completed:4/4:TEST:FLAKY:node0[1-4]',
    ]);
    const mods = await run(engine, 'NEXXUS:MODULES');
    expect(mods.filter((l) => l.includes(':MODULE:')).map((l) => l.split(':')[3])).toEqual(['NEXXUS', 'TEST']);
    expect(mods.at(-1)).toBe('NEXXUS:5:JOB_COMPLETED:ok=2:failed=0');
  });
});

describe('nodelist at run time', () => {
  it('a node added while running is found by node sets and wildcards already resolved once, in nodelist order', async () => {
    const { engine } = await setup();
    expect(engine.resolve('node0*')).toEqual(['node01', 'node02', 'node03', 'node04', 'node05', 'node06', 'node07', 'node08']);
    expect(engine.resolve('node[01-02],node05')).toEqual(['node01', 'node02', 'node05']);
    engine.addNode({ name: 'node00' });
    engine.addNode({ name: 'node09', groups: ['compute'] });
    expect(engine.resolve('node0*')).toEqual(['node01', 'node02', 'node03', 'node04', 'node05', 'node06', 'node07', 'node08', 'node00', 'node09']);
    expect(engine.resolve('node[00-02],node09')).toEqual(['node01', 'node02', 'node00', 'node09']);
    expect(engine.resolve('@compute').at(-1)).toBe('node09');
    const v = await engine.submit('NEXXUS:NODE_LIST:node0[8-9]').done;
    expect(v.targetsFolded).toBe('node[08-09]');
    expect(JSON.parse(JSON.stringify(v)).targetsFolded).toBe('node[08-09]');
  });
});

describe('audit', () => {
  it('writes the attempt (fsync) before the action runs, and the outcome after', async () => {
    let sawAttempt = false;
    let file = '';
    const spy: ModuleDef = {
      tag: 'SPY', summary: 's',
      commands: [cmd({ name: 'DO', lane: 'control', dangerous: true, async run(ctx) {
        const recs = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        sawAttempt = recs.some((r) => r.job === ctx.id && r.phase === 'attempt');
        await ctx.forEachNode(ctx.nodes, async (n) => (n.node === 'node02' ? 'failed' : 'ok'));
      } })],
    };
    const { engine, stateDir } = await setup({ modules: [spy] });
    file = path.join(stateDir, 'audit.jsonl');
    await run(engine, 'SPY:DO:node[01-03]');
    expect(sawAttempt).toBe(true);
    const recs = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs).toHaveLength(2);
    expect(recs[0]).toMatchObject({ phase: 'attempt', job: 1, request: 'SPY:DO:node[01-03]', targets: 'node[01-03]', count: 3 });
    expect(typeof recs[0].user).toBe('string');
    expect(recs[1]).toMatchObject({ phase: 'outcome', job: 1, state: 'completed', ok: 2, failed: 1, results: { node01: 'ok', node02: 'failed', node03: 'ok' } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('does not audit read-only commands, and refuses to run when the audit log cannot be written', async () => {
    const { engine, stateDir } = await setup();
    await run(engine, 'NEXXUS:NODE_LIST');
    expect(fs.existsSync(path.join(stateDir, 'audit.jsonl'))).toBe(false);
    fs.mkdirSync(path.join(stateDir, 'audit.jsonl')); // a directory where the file should be
    const lines = await run(engine, 'TEST:CHANGE:node01');
    expect(lines.at(-1)).toMatch(/JOB_FAILED:ERR_AUDIT:cannot write the audit log/);
    expect(lines.some((l) => l.includes('ok=1'))).toBe(false);
  });

  it('read-only mode refuses dangerous commands and nothing else', async () => {
    const { engine } = await setup({ engine: { readOnly: true } });
    expect(() => engine.submit('NEXXUS:SET_VAR:node01:a:b')).toThrow(/read-only/);
    expect((await run(engine, 'NEXXUS:GET_VAR:node01:host')).at(-1)).toMatch(/ok=1/);
  });
});

describe('registry', () => {
  it('refuses a duplicate tag and locks once the engine runs', async () => {
    expect(() => new Registry([nexxusModule, nexxusModule])).toThrow(/duplicate module tag NEXXUS/);
    const { engine } = await setup();
    expect(() => engine.registry.add({ tag: 'LATE', summary: '', commands: [] })).toThrow(/locked/);
  });
  it('refuses a rest argument that is not last', () => {
    const bad: ModuleDef = { tag: 'BAD', summary: '', commands: [cmd({ name: 'X', args: [{ name: 'a', rest: true }, { name: 'b' }], async run() {} })] };
    expect(() => new Registry([bad])).toThrow(/only the last argument may be rest/);
  });
});

describe('store', () => {
  it('hands out immutable snapshots that change only when something changed', async () => {
    const { engine } = await setup();
    const a = engine.getSnapshot();
    expect(engine.getSnapshot()).toBe(a);
    expect(Object.isFrozen(a.nodes)).toBe(true);
    expect(Object.isFrozen(a.nodes[0])).toBe(true);
    engine.recordStats('node01', { load1: 1.5 });
    const b = engine.getSnapshot();
    expect(b).not.toBe(a);
    expect(b.nodes[0].loadHistory).toEqual([1.5]);
    expect(a.nodes[0].loadHistory).toEqual([]);
    expect(b.nodes[1]).toBe(a.nodes[1]); // unchanged nodes keep their view
  });

  it('a view keeps the last 60 load samples it was made with, however many arrive after it', async () => {
    const { engine } = await setup();
    const views = [];
    for (let i = 1; i <= 250; i++) {
      engine.recordStats('node01', { load1: i });
      views.push(engine.getSnapshot().nodes[0]);
    }
    const span = (to: number) => Array.from({ length: Math.min(60, to) }, (_, k) => to - Math.min(60, to) + k + 1);
    for (const at of [1, 59, 60, 61, 119, 120, 121, 181, 250]) expect(views[at - 1].loadHistory).toEqual(span(at));
    expect(Object.isFrozen(views[0].loadHistory)).toBe(true);
    // what a saved snapshot or an attached dashboard gets
    expect(JSON.parse(JSON.stringify(views[249])).loadHistory).toEqual(span(250));
    expect({ ...views[119] }.loadHistory).toEqual(span(120));
    expect(Object.keys(views[0])).toEqual(['name', 'groups', 'vars', 'state', 'stateReason', 'stateSince', 'power', 'local', 'stats', 'statsTs', 'loadHistory', 'drain', 'sensors']);
  });

  it('stats a module may still change are copied; frozen ones (what SIM hands over) are kept as they are', async () => {
    const { engine } = await setup();
    const mutable: Record<string, number> = { load1: 1 };
    engine.recordStats('node01', mutable);
    mutable.load1 = 99;
    expect(engine.getSnapshot().nodes[0].stats).toEqual({ load1: 1 });
    expect(Object.isFrozen(engine.getSnapshot().nodes[0].stats)).toBe(true);
    const frozen = Object.freeze({ load1: 2 });
    engine.recordStats('node01', frozen);
    expect(engine.getSnapshot().nodes[0].stats).toBe(frozen);
  });

  it('a changed variable shows in the next view, a secret one masked, while stats alone keep the same vars', async () => {
    const { engine } = await setup();
    engine.recordStats('node01', { load1: 1 });
    const a = engine.getSnapshot().nodes[0];
    engine.recordStats('node01', { load1: 2 });
    const b = engine.getSnapshot().nodes[0];
    expect(b.vars).toBe(a.vars);
    expect(b.groups).toBe(a.groups);
    await run(engine, 'NEXXUS:SET_VAR:node01:bmc_password:hunter2');
    const c = engine.getSnapshot().nodes[0];
    expect(c.vars.bmc_password).toBe('****');
    expect(a.vars.bmc_password).toBeUndefined();
    await run(engine, 'NEXXUS:SET_VAR:node01:bmc_password:other');
    await run(engine, 'NEXXUS:UNSET_VAR:node01:bmc_password');
    expect(engine.getSnapshot().nodes[0].vars).toEqual(a.vars);
    expect(c.vars.bmc_password).toBe('****');
  });

  it('a quiet job (a poller sweep) leaves the snapshot alone: the screen has nothing new to draw', async () => {
    const { engine } = await setup();
    const a = engine.getSnapshot();
    let notified = 0;
    engine.store.subscribe(() => notified++);
    await engine.submit('NEXXUS:NODE_LIST:node[01-02]', { quiet: true }).done;
    await Promise.resolve();
    expect(engine.getSnapshot()).toBe(a);
    expect(notified).toBe(0);
    await engine.submit('NEXXUS:NODE_LIST:node[01-02]').done;
    expect(engine.getSnapshot()).not.toBe(a);
  });

  it('derives node state from evidence and emits NODE_UP / NODE_DOWN once per transition', async () => {
    const { engine, events } = await setup();
    engine.setNodeState('node01', 'up');
    engine.setNodeState('node01', 'up');
    engine.setNodeState('node01', 'down', 'no ping reply');
    engine.setPower('node02', 'off');
    const s = engine.getSnapshot();
    expect(s.nodes.find((n) => n.name === 'node01')!.state).toBe('down');
    expect(s.nodes.find((n) => n.name === 'node02')!.state).toBe('off');
    expect(s.counts).toEqual({ up: 0, down: 1, off: 1, unknown: 7, drained: 0 });
    const unsolicited = events.filter((e) => e.job === 0).map((e) => e.type + ':' + ('node' in e ? e.node : ''));
    expect(unsolicited).toEqual(['NODE_UP:node01', 'NODE_DOWN:node01']);
  });
});
