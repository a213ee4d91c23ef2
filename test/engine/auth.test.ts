/** serve.users and roles (issue 13): parsing, the role each request needs, and the engine refusing on it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromAllowed, parseKeyLines, parseServeSection } from '../../src/engine/auth.js';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { builtinModules } from '../../src/backends/index.js';
import type { JobOrigin, Role } from '../../src/protocol/module.js';

// a real ed25519 public key blob (type string first), as ssh-keygen writes it
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICcvSRI95j6MCju+WTdKDj0R2hUXVX+67W+tYVLZVYPv alice@lab';

describe('parseServeSection', () => {
  it('takes users with inline keys, roles and from, and the limits with their defaults', () => {
    const s = parseServeSection({ listen: '127.0.0.1:2200', users: [{ name: 'alice', role: 'operator', keys: [KEY], from: ['10.0.0.0/8', '127.0.0.1'] }] });
    expect(s.users.map((u) => [u.name, u.role, u.keys.length])).toEqual([['alice', 'operator', 1]]);
    expect([s.maxSessions, s.maxJobsPerSession, s.maxAuthPerMinute, s.idleS, s.clientAliveS]).toEqual([64, 64, 20, 900, 60]);
    expect(parseServeSection({ client_alive_s: 15 }).clientAliveS).toBe(15);
    expect(fromAllowed(s.users[0], '10.2.3.4')).toBe(true);
    expect(fromAllowed(s.users[0], '::ffff:127.0.0.1')).toBe(true);
    expect(fromAllowed(s.users[0], '127.0.0.2')).toBe(false);
    expect(fromAllowed(s.users[0], 'garbage')).toBe(false);
  });

  it.each([
    [{ users: [{ name: 'al ice', role: 'operator', keys: [KEY] }] }, 'users[0].name: must be a login name'],
    [{ users: [{ name: 'a\x1b[31m', role: 'operator', keys: [KEY] }] }, 'must be a login name'],
    [{ users: [{ name: 'alice', role: 'root', keys: [KEY] }] }, 'users[0].role: must be viewer, operator or admin'],
    [{ users: [{ name: 'alice', role: 'viewer' }] }, 'give keys (a list of public key lines) or keys_file'],
    [{ users: [{ name: 'alice', role: 'viewer', keys: ['command="rm -rf /" ' + KEY] }] }, 'authorized_keys options are not supported'],
    [{ users: [{ name: 'alice', role: 'viewer', keys: [KEY], from: ['10.0.0.0/33'] }] }, 'is not a CIDR'],
    [{ users: [{ name: 'alice', role: 'viewer', keys: [KEY] }, { name: 'alice', role: 'admin', keys: [KEY] }] }, 'alice is listed twice'],
    [{ max_sessions: 0 }, 'serve.max_sessions: must be a whole number from 1'],
    [{ client_alive_s: 1 }, 'serve.client_alive_s: must be a whole number of seconds from 4'],
    [{ lisen: 'x' }, 'serve.lisen: unknown key'],
  ])('refuses %j with ERR_CONFIG', (raw, msg) => {
    expect(() => parseServeSection(raw)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining(msg) }));
  });

  it('a key line whose blob is not of its type is refused', () => {
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]).toString('base64');
    expect(() => parseKeyLines(`ssh-ed25519 ${rsaBlob}`, 'k')).toThrow(/is not a ssh-ed25519 key/);
  });
});

describe('roles, enforced in the engine', () => {
  let dir: string | undefined;
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    engine = undefined;
  });

  async function start(): Promise<Engine> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-auth-'));
    const config = parseConfig(`nodes:\n  - names: sim[1-4]\n    vars: { power: sim, sim: "true" }\n  - names: head\n    vars: { power: sim, sim: "true", controller: true }\n`);
    engine = new Engine({ config, modules: builtinModules(), stateDir: dir, localName: 'elsewhere' });
    await engine.start();
    return engine;
  }
  const as = (user: string, role: Role, session = 1): JobOrigin => ({ user, role, door: 'ssh', addr: '127.0.0.1:5000', key: 'SHA256:x', session, maxJobs: 2 });
  const refusal = (e: Engine, line: string, o: JobOrigin): string => {
    try {
      e.submit(line, { origin: o });
      return 'allowed';
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
  };

  it.each([
    ['viewer', 'NEXXUS:NODE_LIST', 'allowed'],
    ['viewer', 'POWER:STATUS:sim1', 'allowed'],
    ['viewer', 'POWER:OFF:sim1', 'ERR_FORBIDDEN: POWER:OFF needs the operator role; vera is a viewer'],
    ['viewer', 'SSH:EXEC:sim1:uptime', 'ERR_FORBIDDEN: SSH:EXEC needs the operator role'],
    ['operator', 'POWER:OFF:sim1', 'allowed'],
    ['operator', 'POWER:OFF:head', 'ERR_FORBIDDEN: POWER:OFF on the guarded node head needs the admin role'],
    ['operator', 'POWER:OFF:sim2:FORCE', 'ERR_FORBIDDEN: POWER:OFF:FORCE needs the admin role'],
    ['operator', 'NEXXUS:SET_VAR:sim1:k:v', 'ERR_FORBIDDEN: NEXXUS:SET_VAR needs the admin role'],
    ['admin', 'NEXXUS:SET_VAR:sim1:k:v', 'allowed'],
  ] as const)('%s: %s -> %s', async (role, line, want) => {
    const e = await start();
    const got = refusal(e, line, as('vera', role));
    if (want === 'allowed') expect(got).toBe('allowed');
    else expect(got).toContain(want);
  });

  it('reads controller: yes (and sim: on) as the power guard does: one boolean reader', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-auth-'));
    const config = parseConfig(`nodes:\n  - names: box\n    vars: { power: sim, sim: "on", controller: "yes" }\n`);
    engine = new Engine({ config, modules: builtinModules(), stateDir: dir, localName: 'elsewhere' });
    await engine.start();
    expect(refusal(engine, 'POWER:OFF:box', as('vera', 'operator'))).toContain('ERR_FORBIDDEN: POWER:OFF on the guarded node box needs the admin role');
  });

  it('cancelling another user\'s job needs admin; one\'s own does not; the job says who ran it', async () => {
    const e = await start();
    const h = e.submit('SSH:EXEC:sim[1-4]:sleep 5', { origin: as('alice', 'operator', 7) });
    expect(e.job(h.id)?.user).toBe('alice');
    expect(e.job(h.id)?.origin?.door).toBe('ssh');
    expect(refusal(e, `NEXXUS:CANCEL::${h.id}`, as('bob', 'operator', 8))).toContain(`ERR_FORBIDDEN: cancelling job ${h.id} of alice needs the admin role`);
    expect(refusal(e, `NEXXUS:CANCEL::${h.id}`, as('alice', 'operator', 7))).toBe('allowed');
    await h.done;
  });

  it('a refusal is audited with who and which door, and is not broadcast as a job-0 error', async () => {
    const e = await start();
    const seen: string[] = [];
    e.subscribe((ev) => seen.push(ev.type));
    refusal(e, 'POWER:OFF:sim1', as('vera', 'viewer'));
    refusal(e, 'NOPE:X', as('vera', 'viewer'));
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([]);
    const rec = fs.readFileSync(path.join(dir!, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rec).toEqual([expect.objectContaining({ user: 'vera', role: 'viewer', door: 'ssh', addr: '127.0.0.1:5000', key: 'SHA256:x', state: 'refused', request: 'POWER:OFF:sim1' })]);
  });

  it('a session has at most max_jobs_per_session jobs in flight (ERR_LIMIT), and may submit again once they end', async () => {
    const e = await start();
    const a = e.submit('SSH:EXEC:sim1:sleep 1', { origin: as('alice', 'operator', 3) });
    e.submit('SSH:EXEC:sim2:sleep 1', { origin: as('alice', 'operator', 3) });
    expect(refusal(e, 'NEXXUS:NODE_LIST', as('alice', 'operator', 3))).toContain('ERR_LIMIT: this session already has 2 jobs in flight');
    expect(refusal(e, 'NEXXUS:NODE_LIST', as('alice', 'operator', 4))).toBe('allowed');
    await a.done;
    await new Promise((r) => setTimeout(r, 10));
    expect(refusal(e, 'NEXXUS:NODE_LIST', as('alice', 'operator', 3))).toBe('allowed');
  });
});
