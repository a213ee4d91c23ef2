/**
 * Hostile input, resource limits (issue 10, item 11): node sets that would expand to tens of
 * millions of names, wildcard patterns that make a backtracking matcher take forever, and a
 * 100 MB request line. Each gets a clear error quickly, and the engine keeps serving.
 * No wall-clock assertion: a hang or an out-of-memory crash fails through vitest's timeout or
 * the child's exit status.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config.js';
import { NodeSet, DEFAULT_MAX_NODES } from '../../src/protocol/nodeset.js';
import { globMatch } from '../../src/protocol/glob.js';
import { VacmError } from '../../src/protocol/errors.js';
import { nodesetOutput, runNodesetCommand } from '../../src/cli/nodeset-cmd.js';
import { makeEngine, run, tempDir } from '../helpers/engine.js';
import { BIN } from '../helpers/cli.js';
import { readRequestLines } from '../../src/cli/request-lines.js';
import type { Engine } from '../../src/engine/engine.js';

function errorOf(fn: () => unknown): VacmError {
  try {
    fn();
  } catch (e) {
    return e as VacmError;
  }
  throw new Error('expected an error');
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

describe('node sets too large to expand', () => {
  it.each([
    ['n[1-50000000]', 'the node set is 50000000 nodes'],
    ['n[1-999999999/2]', 'the stepped range [1-999999999/2] is 500000000 nodes'],
    ['n[1-99999999]0', 'is 99999999 nodes'], // trailing digits make a step-10 range
    ['@g[1-99999999]', 'the list of group names is 99999999 nodes'],
  ])('%s: ERR_LIMIT naming the limit and how to raise it', (expr, what) => {
    const e = errorOf(() => NodeSet.parse(expr, { resolveGroup: () => [] }).expand());
    expect(e.code).toBe('ERR_LIMIT');
    expect(e.message).toContain(what);
    expect(e.message).toContain(`over the limit of ${DEFAULT_MAX_NODES}; raise limits.max_nodes in vacm.yaml`);
  });

  it('counting and folding never expand', () => {
    const s = NodeSet.parse('n[1-50000000]');
    expect(s.size).toBe(50_000_000);
    expect(s.fold()).toBe('n[1-50000000]');
    expect(s.has('n49999999')).toBe(true);
  });

  it('a multi-dimensional difference that would need 4M names to fold is refused, not ground through', () => {
    const e = errorOf(() => NodeSet.parse('a[1-2000]b[1-2000]!a1b1').fold());
    expect(e.code).toBe('ERR_LIMIT');
    expect(e.message).toMatch(/^folding this multi-dimensional set would expand 7996000 names, over the limit of 1048576; .*raise limits\.max_nodes/);
  });

  it('the limit is what maxNodes says', () => {
    expect(NodeSet.parse('n[1-10]', { maxNodes: 10 }).expand()).toHaveLength(10);
    const e = errorOf(() => NodeSet.parse('n[1-11]', { maxNodes: 10 }).expand());
    expect(e.message).toBe('the node set is 11 nodes, over the limit of 10; raise limits.max_nodes in vacm.yaml if you mean it');
  });
});

describe('vacm.yaml', () => {
  it('names: n[1-50000000] is ERR_LIMIT with the file, line and key', () => {
    const e = errorOf(() => parseConfig('cluster: x\nnodes:\n  - names: n[1-50000000]\n', 'big.yaml'));
    expect(e.code).toBe('ERR_LIMIT');
    expect(e.message).toMatch(/^big\.yaml:3: nodes\.0\.names: the node set is 50000000 nodes, over the limit of 1048576; raise limits\.max_nodes/);
  });

  it('limits.max_nodes sets the limit, for one entry and for all of them together', () => {
    expect(parseConfig('limits: { max_nodes: 10 }\nnodes:\n  - names: n[1-10]\n').nodes).toHaveLength(10);
    expect(errorOf(() => parseConfig('limits: { max_nodes: 10 }\nnodes:\n  - names: n[1-11]\n')).code).toBe('ERR_LIMIT');
    const e = errorOf(() => parseConfig('limits: { max_nodes: 10 }\nnodes:\n  - names: n[1-6]\n  - names: m[1-6]\n', 'two.yaml'));
    expect(e.code).toBe('ERR_LIMIT');
    expect(e.message).toMatch(/^two\.yaml:4: nodes\.1\.names: nodes: would hold more than 10 nodes/);
  });

  it.each([['0'], ['-1'], ['1.5'], ['lots'], ['[1]']])('limits.max_nodes: %s is ERR_CONFIG', (v) => {
    const e = errorOf(() => parseConfig(`limits: { max_nodes: ${v} }\n`, 'l.yaml'));
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toMatch(/l\.yaml:1: limits\.max_nodes: must be a whole number of nodes/);
  });
});

describe('the engine', () => {
  async function engine() {
    const m = await makeEngine();
    engines.push(m.engine);
    return m.engine;
  }

  it('NEXXUS:ADOPT:x[1-99999999] fails with ERR_LIMIT and the next request is served', async () => {
    const e = await engine();
    const lines = await run(e, 'NEXXUS:ADOPT:x[1-99999999]');
    expect(lines.at(-1)).toMatch(/^NEXXUS:\d+:JOB_FAILED:ERR_LIMIT:the node set is 99999999 nodes, over the limit of 1048576; raise limits\.max_nodes/);
    expect((await run(e, 'NEXXUS:NODE_LIST')).filter((l) => l.includes(':NODELIST:'))).toHaveLength(9);
  });

  it('NEXXUS:NODE_LIST:x*[1-20000000] is refused with ERR_LIMIT and the next request is served', async () => {
    const e = await engine();
    let err: VacmError | undefined;
    try {
      await run(e, 'NEXXUS:NODE_LIST:x*[1-20000000]');
    } catch (x) {
      err = x as VacmError;
    }
    expect(err?.code).toBe('ERR_LIMIT');
    expect(err?.message).toContain('the list of wildcard patterns is 20000000 nodes, over the limit of 1048576');
    expect(await run(e, 'NEXXUS:NODE_LIST:node0[1-2]')).toContain(`NEXXUS:${e.jobs().at(-1)!.id}:NODELIST:node01`);
  });

  it('many wildcard patterns against the nodelist: the work is bounded, not just the patterns', () => {
    const universe = Array.from({ length: 100 }, (_, i) => `n${i}`);
    const e = errorOf(() => NodeSet.parse('x*[1-1000000]', { universe: () => universe }));
    expect(e.code).toBe('ERR_LIMIT');
    expect(e.message).toBe('1000000 wildcard patterns against 100 nodes is 100000000 comparisons, over the limit of 16777216 (16 × limits.max_nodes); use fewer patterns, or raise limits.max_nodes in vacm.yaml');
  });
});

describe('glob patterns that make a backtracking matcher explode', () => {
  const evil = '*a'.repeat(10) + '*b';
  it('the matcher returns, and right', () => {
    const long = 'a'.repeat(5000);
    expect(globMatch(evil, long)).toBe(false);
    expect(globMatch(evil, long + 'b')).toBe(true);
    expect(globMatch('*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(100_000))).toBe(false);
  });

  it.each([
    ['*', '', true], ['*', 'abc', true], ['?', '', false], ['?', 'a', true], ['a?c', 'abc', true],
    ['a*c', 'ac', true], ['a*c', 'abxc', true], ['a*c', 'abcd', false], ['*c', 'cc', true],
    ['n*1', 'n01', true], ['n*1', 'n10', false], ['**', 'x', true], ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false], ['.', 'a', false], ['n[1]', 'n[1]', true], ['', '', true], ['', 'a', false],
  ])('globMatch(%j, %j) is %s', (g, t, want) => {
    expect(globMatch(g, t)).toBe(want);
  });

  it('as a node-set wildcard against long names (what the dashboard\'s / filter resolves)', async () => {
    const long = 'a'.repeat(200);
    const m = await makeEngine({ yaml: `nodes:\n  - names: ${long}[1-50]\n  - names: ${long}b\n` });
    engines.push(m.engine);
    expect(m.engine.resolve(evil)).toEqual([`${long}b`]);
    expect(m.engine.resolve(`${evil},*a1`)).toEqual([`${long}1`, `${long}b`]);
  });
});

describe('vacm nodeset', () => {
  it('-c never expands; -f folds; -e over the limit streams', () => {
    expect(runNodesetCommand({ count: true, exprs: ['n[1-50000000]'] }, {}).stdout).toBe('50000000\n');
    expect(runNodesetCommand({ fold: true, exprs: ['n[1-50000000]'] }, {}).stdout).toBe('n[1-50000000]\n');
    let bytes = 0;
    let pieces = 0;
    let last = '';
    for (const s of nodesetOutput({ expand: true, exprs: ['n[1-2000000]'] }, {})) {
      bytes += s.length;
      pieces++;
      last = s;
    }
    expect(pieces).toBeGreaterThan(100); // written as it is made, not built whole
    expect(last.endsWith(' n2000000\n')).toBe(true);
    // n1..n9: 2 chars, ..., n1000000..n2000000: 8 chars, one separator each but the last
    let want = 0;
    for (let w = 1, lo = 1; lo <= 2_000_000; w++, lo *= 10) want += (Math.min(lo * 10 - 1, 2_000_000) - lo + 1) * (w + 2);
    expect(bytes).toBe(want);
  });

  it('the real binary expands 3M names with a 64 MB heap', async () => {
    const child = spawn(process.execPath, ['--max-old-space-size=64', BIN, 'nodeset', '-e', 'n[1-3000000]'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let tail = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      tail = (tail + d.toString()).slice(-20);
    });
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('close', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(tail.endsWith(' n3000000\n')).toBe(true);
    expect(bytes).toBeGreaterThan(3_000_000 * 8);
  }, 60_000);
});

describe('vacm ipc: a 100 MB line on stdin', () => {
  it('is refused as it passes 64 KiB, discarded to its newline, and the next line is answered, in bounded memory', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(cfg, 'cluster: t\nnodes:\n  - names: n[1-3]\n    vars: { power: none }\n');
    // a 64 MB heap: readline would have to hold the whole 100 MB line as one string
    const child = spawn(process.execPath, ['--max-old-space-size=64', BIN, 'ipc', '--config', cfg], {
      env: { ...process.env, VACM_STATE_DIR: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const write = (b: Buffer | string) => new Promise<void>((res, rej) => child.stdin.write(b, (e) => (e ? rej(e) : res())));
    await write('NEXXUS:NODE_LIST:n1\n');
    const mb = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 100; i++) await write(mb);
    await write('\nNEXXUS:NODE_LIST:n2\n');
    child.stdin.end();
    const code = await closed;
    expect(err).toContain(`NEXXUS:0:ERROR:ERR_LINE_TOO_LONG:line of ${100 << 20} bytes refused\\: the limit is 65536 bytes (64 KiB)`);
    expect(err.split('\n').filter((l) => l.includes('ERR_LINE_TOO_LONG'))).toHaveLength(1);
    expect(out).toMatch(/NODELIST:n1\n/);
    expect(out).toMatch(/NODELIST:n2\n/);
    expect(code).toBe(2); // a refused line is a usage error for the exit status, as a parse error is
  }, 120_000);
});

describe('readRequestLines', () => {
  async function lines(chunks: (string | Buffer)[], max = 8) {
    const out: unknown[] = [];
    for await (const r of readRequestLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), max)) out.push(r);
    return out;
  }
  it.each([
    [['a\nb\n'], [{ line: 'a' }, { line: 'b' }]],
    [['a\r\nb'], [{ line: 'a' }, { line: 'b' }]],
    [['ab', 'c\nd', 'e\n'], [{ line: 'abc' }, { line: 'de' }]],
    [['12345678\n'], [{ line: '12345678' }]], // exactly the limit
    [['123456789\nok\n'], [{ tooLong: 9 }, { line: 'ok' }]],
    [['1234', '5678', '9abc', 'def\nok'], [{ tooLong: 15 }, { line: 'ok' }]],
    [['123456789', '123456789'], [{ tooLong: 18 }]],
    [['\n\n'], [{ line: '' }, { line: '' }]],
    [['x'.repeat(20) + '\n' + 'y'.repeat(20) + '\nz\n'], [{ tooLong: 20 }, { tooLong: 20 }, { line: 'z' }]],
    [[Buffer.from('é\n'), Buffer.from([0xc3]), Buffer.from([0xa9, 10])], [{ line: 'é' }, { line: 'é' }]], // a character split across chunks
  ])('%j', async (chunks, want) => {
    expect(await lines(chunks)).toEqual(want);
  });
});
