/** `vacm serve` and `vacm agent` as real processes; a real Prometheus scraping vacm's /metrics. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { builtinModules } from '../../src/backends/index.js';
import { History } from '../../src/engine/history.js';
import { deriveNodeKey } from '../../src/protocol/agent-msg.js';
import { until } from '../helpers/wait.js';
import { hasBinary } from '../helpers/peers.js';

let dir: string;
const children: ChildProcess[] = [];
let engine: Engine | undefined;

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; err: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, err: () => err, exited };
}

async function get(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-serve-'));
  fs.writeFileSync(path.join(dir, 'secret'), 'serve-test-secret\n', { mode: 0o600 });
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await engine?.stop();
  engine = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('vacm serve (real process)', () => {
  it('receives a real agent\'s datagrams, serves /metrics, notices the agent stop, exits cleanly on SIGTERM', async () => {
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, `cluster: lab
nodes:
  - names: node[1-2]
    vars: { host: "127.0.40.{n}" }
collector:
  listen: 127.0.40.254:26201
  secret_file: ${path.join(dir, 'secret')}
  allowed_subnets: [127.0.40.0/24]
  miss: 2
# the agent is the only evidence under test: every 127.x address answers ping, which would keep node2 up
ping:
  enabled: false
`);
    const state = path.join(dir, 'state');
    // --listen moves the collector off the config's collector.listen (26201): the agent must find it at 26204
    const serve = start(process.execPath, [BIN, 'serve', '--config', cfg, '--metrics', '127.0.40.254:26202', '--listen', '127.0.40.254:26204'], { VACM_STATE_DIR: state });
    await until('serve start', () => serve.err().includes('metrics on http://127.0.40.254:26202/metrics') || undefined, 30_000);
    expect(serve.err()).toContain('collector listening on udp 127.0.40.254:26204');
    // node1's own key, derived from the master as an operator would on the head node
    fs.writeFileSync(path.join(dir, 'node1.key'), deriveNodeKey('serve-test-secret', 'node1') + '\n', { mode: 0o600 });
    const agent = start(process.execPath, [BIN, 'agent', '--collector', '127.0.40.254:26204', '--secret-file', path.join(dir, 'node1.key'), '--interval', '0.5', '--name', 'node1', '--bind', '127.0.40.1']);
    const metrics = await until('node1 in /metrics', async () => {
      const m = await get('http://127.0.40.254:26202/metrics');
      return m && /^node_load1\{node="node1"\} \d/m.test(m) ? m : undefined;
    }, 30_000);
    expect(metrics).toMatch(/^vacm_node_up\{node="node1"\} 1$/m);
    expect(metrics).toMatch(/^vacm_node_up\{node="node2"\} 0$/m);
    expect(metrics).toMatch(/^vacm_collector_datagrams_total\{result="accepted"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^vacm_collector_rejected_total\{reason="hmac"\} 0$/m);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(agent.err()).toMatch(/stopped \(SIGTERM\) after \d+ datagrams, 0 failed/);
    await until('node1 down', async () => (await get('http://127.0.40.254:26202/metrics'))?.includes('vacm_node_up{node="node1"} 0') || undefined, 20_000);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(serve.err()).toContain('event NEXXUS:0:NODE_UP:node1');
    expect(serve.err()).toMatch(/event NEXXUS:0:NODE_DOWN:node1:agent silent for \d+ s/);
    expect(serve.err()).toContain('stopped cleanly');
    const saved = JSON.parse(fs.readFileSync(path.join(state, 'serve-snapshot.json'), 'utf8'));
    expect(saved.nodes.find((n: { name: string }) => n.name === 'node1').state).toBe('down');
    const history = History.fromBuffer(fs.readFileSync(path.join(state, 'history.bin')));
    expect(history.query(['node1', 'node2'], Date.now() - 60_000, Date.now()).get('node1')!.values.load1.length).toBeGreaterThan(0);
    expect(history.size).toBe(1);
  }, 120_000);

  it('refuses a bad --listen with a code and exit 2', async () => {
    const s = start(process.execPath, [BIN, 'serve', '--listen', 'nonsense:99999'], { VACM_STATE_DIR: path.join(dir, 'state') });
    expect(await s.exited).toBe(2);
    expect(s.err()).toMatch(/^ERR_USAGE: "nonsense:99999" is not ADDR:PORT/);
  });

  it('refuses --listen when the config has no collector: section (no secret to check agents with)', async () => {
    const s = start(process.execPath, [BIN, 'serve', '--listen', '127.0.40.254:26205'], { VACM_STATE_DIR: path.join(dir, 'state'), VACM_CONFIG: '', HOME: dir });
    expect(await s.exited).toBe(2);
    expect(s.err()).toMatch(/^ERR_USAGE: --listen 127\.0\.40\.254:26205 sets the collector's address, but the config has no collector: section/);
  });
});

describe.skipIf(!hasBinary('prometheus'))('a real Prometheus scrapes vacm (needs prometheus: apt-get install prometheus)', () => {
  it('reads node_load1 back through its HTTP API', async () => {
    engine = new Engine({
      config: parseConfig('cluster: lab\nnodes:\n  - names: node[1-2]\nmetrics:\n  listen: 127.0.40.254:26203\n'),
      modules: builtinModules(),
      monitor: true,
      stateDir: path.join(dir, 'state'),
    });
    await engine.start();
    engine.recordStats('node1', { load1: 4.25, cpu: 12 });
    engine.setNodeState('node1', 'up');
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vacm
    static_configs:
      - targets: ['127.0.40.254:26203']
`);
    start('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:26901']);
    const q = encodeURIComponent('node_load1{node="node1"}');
    const value = await until('prometheus query', async () => {
      const body = await get(`http://127.0.0.1:26901/api/v1/query?query=${q}`);
      if (!body) return undefined;
      const r = JSON.parse(body) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
      return r.data?.result?.[0];
    }, 25_000);
    expect(value.value[1]).toBe('4.25');
    expect(value.metric).toMatchObject({ __name__: 'node_load1', node: 'node1', job: 'vacm' });
    const up = JSON.parse((await get(`http://127.0.0.1:26901/api/v1/query?query=${encodeURIComponent('vacm_node_up{node="node1"}')}`))!);
    expect(up.data.result[0].value[1]).toBe('1');
  }, 60_000);
});
