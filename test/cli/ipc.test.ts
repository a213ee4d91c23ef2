import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, vacm } from '../helpers/cli.js';
import { SMALL_CLUSTER, tempDir } from '../helpers/engine.js';

let cfg: string;
let stateDir: string;
beforeAll(() => {
  const d = tempDir();
  cfg = path.join(d, 'vacm.yaml');
  fs.writeFileSync(cfg, SMALL_CLUSTER);
  stateDir = path.join(d, 'state');
  process.env.VACM_STATE_DIR = stateDir;
});

describe('vacm ipc', () => {
  it('prints response lines and exits 0', async () => {
    const r = await cli(['ipc', '--config', cfg, 'nexxus:node_list:node0[1-2]']);
    expect(r.out).toBe('NEXXUS:1:JOB_STARTED\nNEXXUS:1:NODELIST:node01\nNEXXUS:1:NODELIST:node02\nNEXXUS:1:JOB_COMPLETED:ok=2:failed=0\n');
    expect(r.code).toBe(0);
  });

  it('runs several messages one after another', async () => {
    const r = await cli(['ipc', '--config', cfg, 'NEXXUS:SET_VAR:node01:rack:r7', 'NEXXUS:GET_VAR:node01:rack']);
    expect(r.out).toContain('NEXXUS:2:VAR:node01:rack:r7');
    expect(r.code).toBe(0);
  });

  it('exits 1 when a node failed', async () => {
    const r = await cli(['ipc', '--config', cfg, 'NEXXUS:GET_VAR:node[01-02]:nosuch']);
    expect(r.out).toContain('NEXXUS:1:ERROR:node01:ERR_NO_SUCH_VAR:node01 has no variable nosuch');
    expect(r.out).toContain('JOB_COMPLETED:ok=0:failed=2');
    expect(r.code).toBe(1);
    // the failed set on a line of its own, last
    expect(r.err.split('\n').filter(Boolean).at(-1)).toBe('vacm: failed: node[01-02] (2)');
  });

  it('the failed set can be fed back as it is printed', async () => {
    const first = await cli(['ipc', '--config', cfg, 'NEXXUS:SET_VAR:node[01,03-04,07]:rack:r1', 'NEXXUS:GET_VAR:node[01-08]:rack']);
    expect(first.code).toBe(1);
    const set = /^vacm: failed: (\S+) \((\d+)\)$/m.exec(first.err);
    expect(set?.slice(1)).toEqual(['node[02,05-06,08]', '4']);
    // and no failed line for a job where nothing failed
    expect(first.err.match(/^vacm: failed:/gm)).toHaveLength(1);
    const again = await cli(['ipc', '--config', cfg, `NEXXUS:NODE_LIST:${set![1]}`]);
    expect(again.out.split('\n').filter((l) => l.includes(':NODELIST:')).map((l) => l.split(':').at(-1))).toEqual(['node02', 'node05', 'node06', 'node08']);
    expect(again.err).toBe('');
  });

  it('--json prints no failed line on stderr (the events carry it)', async () => {
    const r = await cli(['ipc', '--config', cfg, '--json', 'NEXXUS:GET_VAR:node01:nosuch']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
  });

  it('exits 2 for a parse error, with the ERR_ line on stderr', async () => {
    const r = await cli(['ipc', '--config', cfg, 'NEXXUS']);
    expect(r.err).toMatch(/^NEXXUS:0:ERROR:ERR_PROTO_PARSE:missing command after "NEXXUS\\:" at position 6/);
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('prints JSON lines with --json', async () => {
    const r = await cli(['ipc', '--config', cfg, '--json', 'NEXXUS:GET_VAR:node01:host']);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(objs.map((o) => o.event)).toEqual(['JOB_STARTED', 'VAR', 'JOB_COMPLETED']);
    expect(objs[1]).toMatchObject({ tag: 'NEXXUS', job: 1, node: 'node01', fields: ['node01', 'host', '127.0.10.1'] });
    expect(Number.isNaN(Date.parse(objs[1].ts))).toBe(false);
  });

  it('reads one message a line from stdin, survives bad lines, and keeps answering', async () => {
    const bad = ['', '\u0000\u0001\u00ff\ufffd', 'x'.repeat(1024 * 1024), 'NEXXUS:NODE_LIST:node[01-', 'NOPE:THING', 'NEXXUS:NODE_LIST:node42', ':::', '\\'];
    const r = await cli(['ipc', '--config', cfg], [...bad, 'NEXXUS:NODE_LIST:node01', ''].join('\n'));
    const errs = r.err.trim().split('\n');
    expect(errs.map((l) => l.split(':')[3])).toEqual(['ERR_PROTO_PARSE', 'ERR_LINE_TOO_LONG', 'ERR_NODESET_PARSE', 'ERR_UNKNOWN_MODULE', 'ERR_NO_SUCH_NODE', 'ERR_PROTO_PARSE', 'ERR_PROTO_PARSE']);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.out).toBe('NEXXUS:1:JOB_STARTED\nNEXXUS:1:NODELIST:node01\nNEXXUS:1:JOB_COMPLETED:ok=1:failed=0\n');
    expect(r.code).toBe(2);
  });

  it('reports a bad config as ERR_CONFIG with file and line, exit 2', async () => {
    const d = tempDir();
    const bad = path.join(d, 'vacm.yaml');
    fs.writeFileSync(bad, 'cluster: x\nfanout: -1\n');
    const r = await cli(['ipc', '--config', bad, 'NEXXUS:MODULES']);
    expect(r.err).toBe(`ERR_CONFIG: ${bad}:2: fanout: must be a whole number from 1 to 65536\n`);
    expect(r.code).toBe(2);
  });

  it('gives usage errors exit 2', async () => {
    const r = await cli(['ipc', '--frobnicate']);
    expect(r.err).toMatch(/ERR_USAGE: Unknown argument: frobnicate/);
    expect(r.code).toBe(2);
  });
});

describe('vacm nodeset', () => {
  it.each([
    [['-f', 'node1', 'node2', 'node3', 'n[5-6]'], 'n[5-6],node[1-3]\n'],
    [['-e', 'rack[1-2]-n[01-02]'], 'rack1-n01 rack1-n02 rack2-n01 rack2-n02\n'],
    [['-c', 'node[1-1000000]'], '1000000\n'],
    [['-c', 'n[1-10]!n[3-4]', 'x1'], '9\n'],
  ])('%j', async (args, want) => {
    const r = await cli(['nodeset', ...args]);
    expect(r.out).toBe(want);
    expect(r.code).toBe(0);
  });
  it('resolves @groups from --config', async () => {
    const r = await cli(['nodeset', '--config', cfg, '-f', '@rack1!node0[3-5]']);
    expect(r.out).toBe('node[01-02,06-08]\n');
  });
  it('exits 1 with ERR_NODESET_PARSE naming the failing part', async () => {
    const r = await cli(['nodeset', '-f', 'node[1-']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ERR_NODESET_PARSE: .*node\[1-/);
  });
  it('needs exactly one mode', async () => {
    const r = await cli(['nodeset', 'n1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ERR_USAGE/);
  });
});

describe('the real binary', () => {
  it('answers ipc with no config: the local machine alone', async () => {
    const d = tempDir();
    const r = await vacm(['ipc', 'NEXXUS:NODE_LIST'], { env: { HOME: d, VACM_STATE_DIR: d, VACM_CONFIG: '' }, timeoutMs: 20_000 });
    const os = await import('node:os');
    expect(r.out).toBe(`NEXXUS:1:JOB_STARTED\nNEXXUS:1:NODELIST:${os.hostname().split('.')[0]}\nNEXXUS:1:JOB_COMPLETED:ok=1:failed=0\n`);
    expect(r.code).toBe(0);
  });
  it('exits 2 on a parse error from stdin and prints no stack trace', async () => {
    const r = await vacm(['ipc', '--config', cfg], { stdin: 'NEXXUS:NODE_LIST:[\nNEXXUS:GROUPS\n', env: { VACM_STATE_DIR: stateDir } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^NEXXUS:0:ERROR:ERR_NODESET_PARSE:/);
    expect(r.out).toContain('NEXXUS:1:GROUP:compute:node[01-08]:8');
  });
  it('nodeset (the launcher\'s path without yargs): names piped on stdin, groups from --config, errors', async () => {
    const env = { VACM_STATE_DIR: stateDir, VACM_CONFIG: '' };
    const piped = await vacm(['nodeset', '-f'], { stdin: 'n3\nn1 n2\n\nnode07\n', env });
    expect(piped.out).toBe('n[1-3],node07\n');
    expect(piped.code).toBe(0);
    const grouped = await vacm(['nodeset', '--config', cfg, '-c', '@rack1', 'x1'], { env });
    expect(grouped.out).toBe('9\n');
    const bad = await vacm(['nodeset', '-e', 'node[1-'], { env });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^ERR_NODESET_PARSE: /);
    expect(bad.err).not.toMatch(/\n\s+at /);
    const unknownOption = await vacm(['nodeset', '--frobnicate', '-f', 'n1'], { env });
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.err).toMatch(/ERR_USAGE: Unknown argument: frobnicate/);
  });
  it('a reader that goes away (| head -1) ends nothing badly: no stack trace, the job runs to its end and is audited', async () => {
    const d = tempDir();
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" ipc --demo --nodes 2000 'NEXXUS:NODE_LIST' 'NEXXUS:SET_VAR:sim0001:note:x' | head -1`], {
      encoding: 'utf8',
      env: { ...process.env, VACM_STATE_DIR: d, VACM_CONFIG: '', HOME: d },
      timeout: 30_000,
    });
    expect(r.stdout).toBe('NEXXUS:1:JOB_STARTED\n');
    expect(r.stderr).toBe('');
    const audit = fs.readFileSync(path.join(d, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; request: string; state?: string });
    expect(audit.map((a) => [a.phase, a.request, a.state])).toEqual([
      ['attempt', 'NEXXUS:SET_VAR:sim0001:note:x', undefined],
      ['outcome', 'NEXXUS:SET_VAR:sim0001:note:x', 'completed'],
    ]);
  });
  it('the fast path (no yargs) and yargs agree: options, defaults, errors', async () => {
    const env = { VACM_STATE_DIR: stateDir, VACM_CONFIG: '' };
    const fast = await vacm(['ipc', '--config', cfg, '--json', 'NEXXUS:NODE_LIST:node01'], { env });
    const viaYargs = await cli(['ipc', '--config', cfg, '--json', 'NEXXUS:NODE_LIST:node01']);
    const strip = (s: string) => s.replace(/"ts":"[^"]+"/g, '"ts":"T"');
    expect(strip(fast.out)).toBe(strip(viaYargs.out));
    expect(fast.code).toBe(0);
    const typo = await vacm(['ipc', '--jsn', 'NEXXUS:MODULES'], { env });
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^ERR_USAGE: Unknown argument: jsn/);
    const help = await vacm(['ipc', '--help'], { env });
    expect(help.out).toMatch(/--parallel/);
  });
  it('has --help with examples for every command', async () => {
    for (const c of [['--help'], ['ipc', '--help'], ['nodeset', '--help']]) {
      const r = await vacm(c);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Examples:/);
    }
  });
});
