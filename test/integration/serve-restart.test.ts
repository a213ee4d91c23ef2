/**
 * A restart of vacm serve (issue 13): the job-id sequence goes on (after a clean stop and after
 * kill -9), the audit log keeps its records and adds the new ones, and the load history saved at
 * the stop is the one the new serve answers from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, ssh, startServe, type ServeFixture } from '../helpers/serve-door.js';

const HAVE = hasBinary('ssh') && hasBinary('ssh-keygen');

/** the job id of a request's answer lines (`NEXXUS:<job>:...`) */
async function jobOf(f: ServeFixture, line: string): Promise<number> {
  const r = await ssh(f, 'alice', [line]);
  expect(r.code, r.err).toBe(0);
  const m = /^[A-Z]+:(\d+):JOB_COMPLETED/m.exec(r.out);
  expect(m, r.out).not.toBeNull();
  return Number(m![1]);
}

function audit(f: ServeFixture): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One request on the vacm subsystem, its answer of `type`. */
function subsystem(f: ServeFixture, request: object, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', '/dev/null', '-T', '-p', String(f.port), '-i', f.key('alice'), '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-s', 'alice@127.0.0.1', 'vacm'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
    let buf = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${type} answer: ${buf}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o.type === 'hello') child.stdin.write(JSON.stringify(request) + '\n');
        if (o.type === type) {
          clearTimeout(t);
          child.stdin.end();
          child.kill();
          resolve(o);
          return;
        }
      }
    });
  });
}

describe.skipIf(!HAVE)('vacm serve restarted: job ids, audit and history go on', () => {
  let f: ServeFixture;
  beforeAll(async () => {
    f = await startServe([{ name: 'alice', role: 'operator' }]);
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('job ids continue after a clean restart and after kill -9; the audit keeps every record', async () => {
    const first = await jobOf(f, 'POWER:ON:sim001');
    const second = await jobOf(f, 'POWER:ON:sim002');
    expect(second).toBeGreaterThan(first);
    const before = audit(f);
    expect(before.some((a) => a.job === second && a.user === 'alice')).toBe(true);

    await f.restart();
    const third = await jobOf(f, 'POWER:ON:sim003');
    expect(third).toBeGreaterThan(second);
    await f.restart({ hard: true });
    const fourth = await jobOf(f, 'POWER:ON:sim004');
    expect(fourth).toBeGreaterThan(third);

    // the audit log is appended to, never started again: the old records come first, unchanged
    const after = audit(f);
    expect(after.slice(0, before.length)).toEqual(before);
    const ids = after.filter((a) => a.user === 'alice' && a.phase === 'attempt' && typeof a.job === 'number' && (a.job as number) > 0).map((a) => a.job as number);
    expect(ids).toEqual(expect.arrayContaining([first, second, third, fourth]));
    expect(new Set(ids).size).toBe(ids.length); // no id handed out twice
  }, 120_000);

  it('the load history saved at the stop is what the new serve answers from', async () => {
    // samples before the restart (the sim nodes' stats are polled every few seconds)
    let before: Record<string, unknown> | undefined;
    for (let i = 0; i < 60; i++) {
      before = await subsystem(f, { op: 'series', node: 'sim001', span_ms: 3_600_000 }, 'series');
      if ((before.ts as number[]).length >= 2) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const oldTs = before!.ts as number[];
    expect(oldTs.length).toBeGreaterThanOrEqual(2);
    await f.restart();
    const after = await subsystem(f, { op: 'series', node: 'sim001', span_ms: 3_600_000 }, 'series');
    // the samples from before the restart are still there
    expect(after.ts as number[]).toEqual(expect.arrayContaining(oldTs.slice(0, 2)));
  }, 120_000);
});
