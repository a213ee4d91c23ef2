/**
 * Hostile text in drains and the timeline (issue 16 items 2 and 3): a reason is typed by anyone who
 * may DRAIN (and, through serve, by a remote user); the timeline carries node names, agents' host
 * names and error messages. None reaches a terminal raw, none grows memory or the state files without
 * bound, and a planted or damaged state file is refused or read safely.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { Timeline } from '../../src/engine/timeline.js';
import { toLine } from '../../src/protocol/events.js';
import { CONTROL_RE } from '../../src/protocol/visible.js';
import { run, tempDir } from '../helpers/engine.js';

const YAML = 'cluster: h\nnodes:\n  - names: n[1-3]\n';
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

async function start(stateDir = tempDir()) {
  fs.chmodSync(stateDir, 0o700);
  const e = new Engine({ config: parseConfig(YAML, 'h.yaml'), modules: [nexxusModule], stateDir, localName: 'vacm-test-host', monitor: true });
  engines.push(e);
  await e.start();
  return { e, stateDir };
}

// ESC ] 52 (clipboard), CSI clear screen, CR rewriting the line, BEL, a C1 CSI, DEL
const EVIL = 'disk\x1b]52;c;aGk=\x07 swap\x1b[2J\rOK\x9b31m\x7f';

describe('a drain reason with control characters', () => {
  it('is kept escaped: in the node view, the DRAINED line, drains.json, the audit log and the timeline', async () => {
    const { e, stateDir } = await start();
    const lines = await run(e, `NEXXUS:DRAIN:n2:${EVIL}`);
    const d = e.node('n2')!.drain!;
    expect(CONTROL_RE.test(d.reason)).toBe(false);
    expect(d.reason).toBe('disk\\x1b]52;c;aGk=\\x07 swap\\x1b[2J\\rOK\\x9b31m\\x7f');
    for (const l of lines) expect(CONTROL_RE.test(l)).toBe(false);
    for (const f of ['drains.json', 'audit.jsonl', 'events.jsonl']) {
      await new Promise((r) => setImmediate(r));
      const text = fs.readFileSync(path.join(stateDir, f), 'utf8');
      expect(CONTROL_RE.test(text.replace(/\n/g, '')), f).toBe(false);
    }
    expect(e.recentEvents().at(-1)!.text).toContain('disk\\x1b]52');
    // and the SKIPPED reason a later request shows
    const skipped = await run(e, 'NEXXUS:SET_VAR:*:x:1');
    expect(skipped.filter((l) => l.includes('SKIPPED'))).toEqual([expect.stringContaining(':SKIPPED:n2:drained:')]);
    for (const l of skipped) expect(CONTROL_RE.test(l)).toBe(false);
  });

  it('a 1 MB reason is refused (the request line is bounded) and the engine keeps serving; 257 characters are refused by DRAIN itself', async () => {
    const { e, stateDir } = await start();
    expect(() => e.submit(`NEXXUS:DRAIN:n1:${'x'.repeat(1024 * 1024)}`)).toThrow(expect.objectContaining({ code: 'ERR_LINE_TOO_LONG' }));
    const long = await run(e, `NEXXUS:DRAIN:n1:${'\x1b'.repeat(257)}`);
    expect(long.at(-1)).toMatch(/JOB_FAILED:ERR_BAD_ARGS:the drain reason is 257 characters; at most 256/);
    // direct callers of the engine (a module, serve) meet the same bound
    expect(() => e.drain(['n1'], 'y'.repeat(1024 * 1024), 'x')).toThrow(/at most 256/);
    expect(e.nodes().some((n) => n.drain)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, 'drains.json'))).toBe(false);
    expect((await run(e, 'NEXXUS:DRAIN:n1:ok')).at(-1)).toMatch(/JOB_COMPLETED:ok=1/);
  });

  it('a 256-character reason of controls stays bounded once escaped (at most 4 x 256 characters)', async () => {
    const { e } = await start();
    await run(e, `NEXXUS:DRAIN:n3:${'\x01'.repeat(256)}`);
    expect(e.node('n3')!.drain!.reason.length).toBeLessThanOrEqual(1024);
    expect(CONTROL_RE.test(e.node('n3')!.drain!.reason)).toBe(false);
  });
});

describe('hostile state files', () => {
  it('drains.json written by someone else: controls escaped, long text cut, bad node names and shapes ignored', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, 'drains.json'), JSON.stringify({
      version: 1,
      drains: {
        n1: { who: 'mallory\x1b[31m', since: '2026-12-01T10:00:00Z', reason: 'r'.repeat(1024 * 1024) },
        n2: { who: 'x', since: 'not a time', reason: 'y' },
        'n3\x1b': { who: 'x', since: '2026-12-01T10:00:00Z', reason: 'y' },
        n3: 'not an object',
        __proto__: { who: 'x', since: '2026-12-01T10:00:00Z', reason: 'polluted' },
      },
    }), { mode: 0o600 });
    const { e } = await start(dir);
    const d = e.node('n1')!.drain!;
    expect(d.who).toBe('mallory\\x1b[31m');
    expect(d.reason.length).toBeLessThanOrEqual(1024);
    expect(e.node('n2')!.drain).toBeUndefined();
    expect(e.node('n3')!.drain).toBeUndefined();
    expect(({} as Record<string, unknown>).reason).toBeUndefined();
  });

  it('a symlinked drains.json is not followed, and DRAIN says so instead of writing through it', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o700);
    const target = path.join(tempDir(), 'elsewhere');
    fs.writeFileSync(target, 'precious\n');
    fs.symlinkSync(target, path.join(dir, 'drains.json'));
    const logged: string[] = [];
    const e = new Engine({ config: parseConfig(YAML, 'h.yaml'), modules: [nexxusModule], stateDir: dir, localName: 'h', log: (_l, m) => logged.push(m) });
    engines.push(e);
    await e.start();
    expect(logged.join('\n')).toMatch(/drains not read: state file .*drains\.json is a symbolic link/);
    expect((await run(e, 'NEXXUS:DRAIN:n1:x')).at(-1)).toMatch(/JOB_FAILED:ERR_STATE_DIR:.*symbolic link/);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('events.jsonl lines with controls, foreign shapes or torn JSON: escaped or dropped; an oversized file is not read', () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o700);
    const lines = [
      JSON.stringify({ at: '2026-12-01T10:00:00Z', kind: 'drain', node: 'n1\x1b[2J', text: 'hi\x1b]0;pwned\x07', fields: { who: 'a\rb', n: 3, bad: { x: 1 }, 'no such key!': 1 } }),
      JSON.stringify({ at: '2026-12-01T10:00:01Z', kind: 'not-a-kind', text: 'x' }),
      JSON.stringify({ at: 'yesterday', kind: 'job', text: 'x' }),
      '{"at": "2026-12-01T10:00:02Z", "kind": "job", "te',
    ];
    fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.join('\n') + '\n', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'events.1.jsonl'), 'x'.repeat(3 * 4096 + 70_000), { mode: 0o600 });
    const logged: string[] = [];
    const t = new Timeline({ stateDir: dir, settings: { maxFileBytes: 4096 }, log: (_l, m) => logged.push(m) });
    const got = t.query();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'drain', node: 'n1\\x1b[2J', text: 'hi\\x1b]0;pwned\\x07', fields: { who: 'a\\rb', n: 3 } });
    expect(logged.join('\n')).toMatch(/events\.1\.jsonl was not read: .*larger than/);
    // on the wire, too, nothing raw
    expect(CONTROL_RE.test(toLine({ tag: 'NEXXUS', job: 1, ts: 0, type: 'EVENT', at: got[0].at, kind: got[0].kind, node: got[0].node, text: got[0].text }))).toBe(false);
  });

  it('a flood of entries keeps memory and disk bounded', () => {
    const dir = tempDir();
    const t = new Timeline({ stateDir: dir, settings: { memoryEntries: 100, maxFileBytes: 8192, files: 2 } });
    const huge = '\x1b'.repeat(1024 * 1024);
    for (let i = 0; i < 300; i++) t.record('job', huge, huge, { huge });
    t.close();
    expect(t.recent()).toHaveLength(100);
    expect(t.recent()[0].text.length).toBeLessThanOrEqual(512);
    const total = fs.readdirSync(dir).filter((f) => f.startsWith('events')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(2 * 8192 + 16_384);
  });
});
