/**
 * Hostile output (issue 10, item 7): a node that prints one endless line, or millions of lines,
 * must neither freeze the engine (the event loop keeps its heartbeat) nor fill its memory: lines are
 * cut at 64 KiB with `…[cut N bytes]`, a job keeps at most output.max_job_bytes of output, and
 * `vacm ipc` gathers at most output.max_gather_bytes, then says so and keeps streaming.
 * The SSH part runs against a real sshd (test/fixtures/sshd.ts): run this file under the peers lock.
 */
import { mulberry32 } from '../../src/protocol/random.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import fs from 'node:fs';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { DEFAULT_OUTPUT_LIMITS } from '../../src/engine/output-limits.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { SshPool } from '../../src/backends/ssh/pool.js';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/backends/ssh/channel.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';
import { runIpc } from '../../src/cli/ipc.js';
import type { CommandDef, ModuleDef } from '../../src/protocol/module.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { tempDir, runJob } from '../helpers/engine.js';
import { vacm } from '../helpers/cli.js';

const MiB = 1024 * 1024;

/**
 * FLOOD:LINES:<nodes>:<lines per node>:<line length> — every node prints that many distinct lines,
 * yielding to the event loop between batches as a real stream would.
 */
const flood: CommandDef = {
  name: 'LINES',
  summary: 'print many lines per node',
  nodes: 'required',
  args: [{ name: 'count' }, { name: 'length' }],
  lane: 'bulk',
  dangerous: false,
  async run(ctx) {
    const count = Number(ctx.args.count);
    const pad = 'x'.repeat(Math.max(0, Number(ctx.args.length) - 12));
    await ctx.forEachNode(ctx.nodes, async ({ node }) => {
      for (let i = 0; i < count; i++) {
        ctx.emit({ type: 'OUTPUT', node, stream: 'stdout', line: `${String(i).padStart(11, '0')} ${pad}` });
        if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
      }
      ctx.emit({ type: 'EXIT', node, code: 0 });
    });
  },
};
const floodModule: ModuleDef = { tag: 'FLOOD', summary: 'floods output', commands: [flood] };

function floodEngine(extraYaml = '', opts: { maxJobOutputBytes?: number } = {}): { engine: Engine; stateDir: string } {
  const stateDir = tempDir('vacm-output-');
  const yaml = `cluster: t\nfanout: 8\nnodes:\n  - names: n[1-8]\n${extraYaml}`;
  const engine = new Engine({ config: parseConfig(yaml, 'output.yaml'), modules: [nexxusModule, floodModule], stateDir, localName: 'not-a-node', ...opts });
  return { engine, stateDir };
}

/** Watch the event loop: the longest a 50 ms heartbeat timer was late. */
function heartbeat(): { stop(): number } {
  const every = 50;
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - every);
    last = now;
  }, every);
  return {
    stop() {
      clearInterval(t);
      return worst;
    },
  };
}

describe('1 000 hostile output streams through the line splitter', () => {
  // a seeded generator: the same streams every run
  const next = mulberry32(0x5eed);
  const rand = (n: number) => Math.floor(next() * 4294967296) % n;
  const pieces = [Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('é'), Buffer.from('€'), Buffer.from('😀'), Buffer.from([0xff]), Buffer.from([0xe2, 0x82]), Buffer.from('\x1b]52;c;Y3VybA==\x07'), Buffer.from('\0'), Buffer.from('plain text ')];

  it('every line comes out whole, or cut to a character boundary with the exact count of dropped bytes', () => {
    const max = 64;
    for (let c = 0; c < 1000; c++) {
      const parts: Buffer[] = [];
      for (let i = rand(80); i > 0; i--) parts.push(rand(4) === 0 ? Buffer.from(['z', 'é', '€', '😀'][rand(4)].repeat(rand(60))) : pieces[rand(pieces.length)]);
      const all = Buffer.concat(parts);
      const got: string[] = [];
      const sp = new LineSplitter((l) => got.push(l), { maxLineBytes: max });
      for (let at = 0; at < all.length;) {
        const n = 1 + rand(100);
        sp.push(all.subarray(at, at + n));
        at += n;
      }
      sp.end();
      // the reference: split the whole stream's bytes at once
      const want: Buffer[] = [];
      let start = 0;
      for (let i = all.indexOf(10); i >= 0; i = all.indexOf(10, start)) {
        want.push(all.subarray(start, i));
        start = i + 1;
      }
      if (start < all.length) want.push(all.subarray(start));
      expect(got).toHaveLength(want.length);
      want.forEach((bytes, i) => {
        if (bytes.length <= max) return expect(got[i]).toBe(bytes.toString('utf8'));
        const m = /…\[cut (\d+) bytes\]$/.exec(got[i]);
        expect(m, got[i]).not.toBeNull();
        const kept = bytes.length - Number(m![1]);
        expect(kept).toBeGreaterThanOrEqual(max - 3);
        expect(kept).toBeLessThanOrEqual(max);
        expect(got[i]).toBe(bytes.subarray(0, kept).toString('utf8') + m![0]);
        // fewer than max bytes kept only to keep a character whole: the cut starts at its first byte
        if (kept < max) expect(bytes[kept]).toBeGreaterThanOrEqual(0xc0);
        // and no character is split: the kept text is how the whole line begins
        expect(bytes.toString('utf8').startsWith(bytes.subarray(0, kept).toString('utf8'))).toBe(true);
      });
    }
  });
});

describe('per-job output bound in the engine store', () => {
  let current: { engine: Engine; stateDir: string } | undefined;
  afterEach(async () => {
    await current?.engine.stop();
    if (current) fs.rmSync(current.stateDir, { recursive: true, force: true });
    current = undefined;
  });

  it('keeps at most 16 MiB of 64 KiB lines per job (not 20 000 of them: 1.3 GB), and every node\'s EXIT', async () => {
    current = floodEngine();
    await current.engine.start();
    const view = await current.engine.submit(`FLOOD:LINES:n[1-8]:64:${MAX_LINE_BYTES}`).done;
    const outputs = view.events.filter((e) => e.type === 'OUTPUT') as Extract<VacmEvent, { type: 'OUTPUT' }>[];
    const kept = outputs.reduce((n, e) => n + Buffer.byteLength(e.line), 0);
    expect(kept).toBeLessThanOrEqual(DEFAULT_OUTPUT_LIMITS.maxJobBytes);
    expect(kept).toBeGreaterThan(DEFAULT_OUTPUT_LIMITS.maxJobBytes - MAX_LINE_BYTES);
    expect(outputs.length + view.truncated).toBe(8 * 64);
    expect(view.events.filter((e) => e.type === 'EXIT')).toHaveLength(8);
    expect(view.ok).toBe(8);
  });

  it('forgets the oldest finished jobs when together they keep more than output.max_total_bytes; the newest stays', async () => {
    // 8 jobs of 4 MiB each against a 10 MiB total: the last two (8 MiB) are kept
    current = floodEngine('output:\n  max_total_bytes: 10485760\n');
    await current.engine.start();
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) {
      const h = current.engine.submit(`FLOOD:LINES:n1:64:${MAX_LINE_BYTES}`);
      ids.push(h.id);
      await h.done;
    }
    const shown = current.engine.store.getSnapshot().jobs.map((j) => j.id);
    expect(shown).toEqual([ids[7], ids[6]]);
    expect(current.engine.job(ids[5])).toBeUndefined();
    expect(current.engine.job(ids[7])?.events.filter((e) => e.type === 'OUTPUT')).toHaveLength(64);
    // a single job larger than the total is still kept (up to its own bound): the newest always stays
    const big = await current.engine.submit(`FLOOD:LINES:n[1-8]:64:${MAX_LINE_BYTES}`).done;
    expect(current.engine.store.getSnapshot().jobs.map((j) => j.id)).toEqual([big.id]);
  });

  it('takes output.max_job_bytes from vacm.yaml, and refuses a bad one with ERR_CONFIG', async () => {
    current = floodEngine('output:\n  max_job_bytes: 4096\n');
    await current.engine.start();
    const view = await current.engine.submit('FLOOD:LINES:n1:100:100').done;
    expect(view.events.filter((e) => e.type === 'OUTPUT')).toHaveLength(40);
    expect(view.truncated).toBe(60);
    for (const bad of ['output:\n  max_job_bytes: 10\n', 'output:\n  max_job_bytes: "lots"\n', 'output:\n  max_lines: 5\n', 'output: 7\n']) {
      expect(() => floodEngine(bad)).toThrow(/ERR_CONFIG|output/);
    }
  });
});

describe('vacm ipc gathers a bounded amount, then streams with a notice', () => {
  const sinkIo = () => {
    const o = { outBytes: 0, outputLines: 0, err: '', stdout: [] as string[] };
    const io = {
      out: (chunk: string) => {
        o.outBytes += chunk.length;
        // one write holds what a tick printed (ipc batches its stdout): count by line
        for (const s of chunk.split(/(?<=\n)/)) {
          if (s.includes(':OUTPUT:')) o.outputLines++;
          else if (o.stdout.length < 1000) o.stdout.push(s);
        }
      },
      err: (s: string) => void (o.err += s),
      stdin: new PassThrough(),
      stdinIsTTY: false,
    };
    return { o, io };
  };

  it('gathers small output whole (clush -b blocks)', async () => {
    const { engine, stateDir } = floodEngine();
    await engine.start();
    const { o, io } = sinkIo();
    try {
      expect(await runIpc(engine, { messages: ['FLOOD:LINES:n[1-2]:3:12'] }, io)).toBe(0);
    } finally {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    expect(o.outputLines).toBe(6);
    expect(o.stdout.join('')).toContain('---------------\nn[1-2] (2)\n---------------\n00000000000 \n00000000001 \n00000000002 \n');
    expect(o.err).toBe('');
  });

  it('4 M lines: all streamed, the gather stops at its bound with the notice, memory stays bounded', async () => {
    const { engine, stateDir } = floodEngine();
    await engine.start();
    const { o, io } = sinkIo();
    let peak = 0;
    global.gc?.();
    const base = process.memoryUsage().rss;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 50);
    let code: number;
    try {
      // 8 nodes × 500 000 lines of 100 bytes: 400 MB of text, 4 M lines
      code = await runIpc(engine, { messages: ['FLOOD:LINES:n[1-8]:500000:100'] }, io);
    } finally {
      clearInterval(sample);
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    expect(code).toBe(0);
    expect(o.outputLines).toBe(4_000_000);
    const m = /^vacm: job 1: gather truncated after (\d+) bytes \((\d+) lines\); the streamed lines above are complete; raise output.max_gather_bytes in vacm.yaml to gather more\n$/.exec(o.err);
    expect(m, o.err).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(DEFAULT_OUTPUT_LIMITS.maxGatherBytes);
    expect(Number(m![1])).toBeGreaterThan(DEFAULT_OUTPUT_LIMITS.maxGatherBytes - 200);
    expect(Number(m![2])).toBe(Number(m![1]) / 101);
    // no half summary on stdout: the gathered blocks were dropped with the rest
    expect(o.stdout.join('')).not.toContain('---------------');
    // 400 MB of lines went through; gathering them all took 2.7 GB before the bound
    expect(peak).toBeLessThan(700 * MiB);
  }, 180_000);

  it('takes output.max_gather_bytes from vacm.yaml', async () => {
    const { engine, stateDir } = floodEngine('output:\n  max_gather_bytes: 2048\n');
    await engine.start();
    const { o, io } = sinkIo();
    try {
      await runIpc(engine, { messages: ['FLOOD:LINES:n1:100:100'] }, io);
    } finally {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    expect(o.outputLines).toBe(100);
    expect(o.err).toContain('gather truncated after 2020 bytes (20 lines)');
  });
});

describe.skipIf(!sshdAvailable())('a real sshd pushing hostile output (needs root and openssh-server: apt-get install openssh-server)', () => {
  let cluster: SshCluster;
  let h: Harness;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 2 });
    h = await openEngine(cluster.vacmYaml(), 'output-test.yaml');
  }, 60_000);

  afterAll(async () => {
    await closeEngine(h);
    await cluster?.stop();
  });

  it('one 64 MiB line: the heartbeat is never a second late, and the job ends with one cut line', async () => {
    const beat = heartbeat();
    const { view, events } = await runJob(h.engine, 'SSH:EXEC:node01:head -c 67108864 /dev/zero');
    const late = beat.stop();
    expect(view.state).toBe('completed');
    expect(view.ok).toBe(1);
    const out = events.filter((e) => e.type === 'OUTPUT') as Extract<VacmEvent, { type: 'OUTPUT' }>[];
    expect(out).toHaveLength(1);
    expect(out[0].line).toBe('\0'.repeat(MAX_LINE_BYTES) + `…[cut ${64 * MiB - MAX_LINE_BYTES} bytes]`);
    expect(late).toBeLessThan(1000);
  }, 120_000);

  it('a million lines: all arrive in order, the heartbeat is never a second late, the job keeps a bounded part', async () => {
    const beat = heartbeat();
    let n = 0;
    let inOrder = true;
    const id = { v: -1 };
    const off = h.engine.subscribe((e) => {
      if (e.job !== id.v || e.type !== 'OUTPUT') return;
      n++;
      if (e.line !== String(n)) inOrder = false;
    });
    let view;
    try {
      const job = h.engine.submit('SSH:EXEC:node02:seq 1 1000000');
      id.v = job.id;
      view = await job.done;
    } finally {
      off();
    }
    const late = beat.stop();
    expect(view.ok).toBe(1);
    expect(n).toBe(1_000_000);
    expect(inOrder).toBe(true);
    expect(view.events.length).toBeLessThanOrEqual(20_000);
    expect(view.truncated).toBeGreaterThan(0);
    expect(late).toBeLessThan(1000);
  }, 120_000);

  it('vacm ipc (the real binary): the 64 MiB line is streamed and gathered cut, with its count', async () => {
    const state = tempDir('vacm-output-state-');
    try {
      const r = await vacm(['ipc', '--config', cluster.vacmYamlPath, 'SSH:EXEC:node01:head -c 67108864 /dev/zero'], { env: { VACM_STATE_DIR: state }, timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      const cut = `\0`.repeat(MAX_LINE_BYTES) + `…[cut ${64 * MiB - MAX_LINE_BYTES} bytes]`;
      expect(r.out).toBe(`SSH:1:JOB_STARTED\nSSH:1:OUTPUT:node01:stdout:${cut}\nSSH:1:EXIT:node01:0\nSSH:1:JOB_COMPLETED:ok=1:failed=0\n---------------\nnode01\n---------------\n${cut}\n`);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  }, 90_000);

  it('a node answering vacm\'s own commands (SYSSTAT\'s /proc read) with megabytes is stopped with ERR_LIMIT', async () => {
    const pool = new SshPool({ section: parseSshSection({ config: false, agent: false }) });
    try {
      const vars = { host: cluster.nodes[0].addr, ssh_port: String(cluster.port), ssh_user: cluster.user, ssh_identity: cluster.clientKey, ssh_known_hosts: cluster.knownHosts };
      await expect(pool.run('node01', vars, 'seq 1 2000000')).rejects.toMatchObject({ code: 'ERR_LIMIT', message: expect.stringMatching(/more than 4194304 bytes/) });
      // the same connection still answers
      expect((await pool.run('node01', vars, 'echo fine')).stdout).toBe('fine');
    } finally {
      await pool.close();
    }
  }, 60_000);
});
