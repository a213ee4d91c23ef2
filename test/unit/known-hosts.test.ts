import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendKnownHost, blobKeyType, checkHostKey, entryMatches, fingerprint, knownHostName, knownHostsFor, knownKeyTypes, parseKnownHosts, readKnownHosts } from '../../src/backends/ssh/known-hosts.js';

/** An SSH public key blob: string type, then key material (enough for these tests). */
function blob(type: string, material: string): Buffer {
  const t = Buffer.from(type);
  const m = Buffer.from(material);
  const b = Buffer.alloc(8 + t.length + m.length);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(m.length, 4 + t.length);
  m.copy(b, 8 + t.length);
  return b;
}

function hashed(name: string, salt = crypto.randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update(name).digest('base64')}`;
}

const A = blob('ssh-ed25519', 'key-a');
const B = blob('ssh-ed25519', 'key-b');
const R = blob('ssh-rsa', 'key-r');

describe('known_hosts names and patterns', () => {
  it.each([
    ['h', 22, 'h'],
    ['127.0.10.5', 22022, '[127.0.10.5]:22022'],
  ] as const)('%s port %d → %s', (h, p, want) => expect(knownHostName(h, p)).toBe(want));

  it.each([
    ['node01,127.0.10.1', 'node01', true],
    ['node01,127.0.10.1', '127.0.10.1', true],
    ['node*', 'node77', true],
    ['node*,!node13', 'node13', false],
    ['[127.0.10.*]:22022', '[127.0.10.9]:22022', true],
    ['[127.0.10.9]:22022', '127.0.10.9', false],
    [hashed('[127.0.10.9]:22022'), '[127.0.10.9]:22022', true],
    [hashed('[127.0.10.9]:22022'), '[127.0.10.8]:22022', false],
    ['|1|broken', 'x', false],
  ])('%s matches %s → %s', (field, name, want) => expect(entryMatches(field, name)).toBe(want));

  it('a host is looked up lower-cased, as ssh does: the hashed entry ssh wrote for node6 is NODE6\'s', () => {
    expect(knownHostName('NODE6', 22)).toBe('node6');
    expect(knownHostName('Node6', 2222)).toBe('[node6]:2222');
    expect(entryMatches(hashed('node6'), knownHostName('NODE6', 22))).toBe(true);
    expect(entryMatches(hashed('[node6]:2222'), knownHostName('NODE6', 2222))).toBe(true);
  });
});

describe('parsing', () => {
  it('reads plain, hashed and marked lines with their line numbers, skipping junk', () => {
    const text = [
      '# comment',
      '',
      `node01 ssh-ed25519 ${A.toString('base64')} root@node01`,
      `@revoked * ssh-ed25519 ${B.toString('base64')}`,
      `@cert-authority *.lab ssh-ed25519 ${B.toString('base64')}`,
      'too short',
      `@weird node01 ssh-ed25519 ${A.toString('base64')}`,
      `${hashed('node02')} ssh-rsa ${R.toString('base64')}`,
    ].join('\n');
    const e = parseKnownHosts(text, '/kh');
    expect(e.map((x) => [x.line, x.marker, x.keyType])).toEqual([
      [3, undefined, 'ssh-ed25519'],
      [4, 'revoked', 'ssh-ed25519'],
      [5, 'cert-authority', 'ssh-ed25519'],
      [8, undefined, 'ssh-rsa'],
    ]);
    expect(e[0].file).toBe('/kh');
  });
});

describe('checking a host key', () => {
  const text = [
    `node01 ssh-ed25519 ${A.toString('base64')}`,
    `[127.0.10.2]:2222 ssh-ed25519 ${A.toString('base64')}`,
    `${hashed('node03')} ssh-ed25519 ${A.toString('base64')}`,
    `node04 ssh-rsa ${R.toString('base64')}`,
    `@revoked node05 ssh-ed25519 ${B.toString('base64')}`,
  ].join('\n');
  const entries = parseKnownHosts(text, '/home/op/.ssh/known_hosts');

  it.each([
    ['node01', A, 'ok', 1],
    ['node01', B, 'changed', 1],
    ['[127.0.10.2]:2222', A, 'ok', 2],
    ['[127.0.10.2]:2222', B, 'changed', 2],
    ['127.0.10.2', A, 'unknown', undefined],
    ['node03', A, 'ok', 3],
    ['node03', B, 'changed', 3],
    // known only with another key type: treated as changed (never silently accepted)
    ['node04', A, 'changed', 4],
    ['node05', B, 'revoked', 5],
    ['node99', A, 'unknown', undefined],
  ] as const)('%s → %s (line %s)', (name, key, status, line) => {
    const r = checkHostKey(entries, [name], key);
    expect(r.status).toBe(status);
    if (line !== undefined) expect((r as { entry: { line: number } }).entry.line).toBe(line);
  });

  it('lists the key types known for a host (to negotiate them first)', () => {
    expect(knownKeyTypes(entries, ['node04'])).toEqual(['ssh-rsa']);
    expect(knownKeyTypes(entries, ['nodeX'])).toEqual([]);
  });

  it('key type and fingerprint as ssh-keygen shows them', () => {
    expect(blobKeyType(A)).toBe('ssh-ed25519');
    expect(fingerprint(A)).toBe('SHA256:' + crypto.createHash('sha256').update(A).digest('base64').replace(/=+$/, ''));
  });
});

describe('files', () => {
  it('accept-new appends a line that the next check accepts; missing files read as empty', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-kh-'));
    try {
      const file = path.join(dir, 'sub', 'known_hosts');
      expect(readKnownHosts([file])).toEqual([]);
      appendKnownHost(file, '[127.0.10.7]:22022', A);
      fs.appendFileSync(file, `node01 ssh-ed25519 ${B.toString('base64')}`); // no newline at the end
      appendKnownHost(file, 'node02', B);
      const e = readKnownHosts([file, path.join(dir, 'missing')]);
      expect(e.map((x) => x.hosts)).toEqual(['[127.0.10.7]:22022', 'node01', 'node02']);
      expect(checkHostKey(e, ['[127.0.10.7]:22022'], A).status).toBe('ok');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knownHostsFor gives exactly the lines entryMatches picks, in file order, and follows a changed file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-kh-'));
    try {
      // a seeded mix of what known_hosts holds: plain names and lists (any case), [host]:port,
      // wildcards, negations, hashed names, markers, duplicates, the same name on several lines
      let seed = 7;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
      const names = ['node01', 'NODE02', 'node03', '[127.0.10.4]:2222', '[127.0.10.4]:22', 'web1.example.org', 'gpu7', 'x'];
      const field = (): string => {
        const pick = () => names[rnd(names.length)];
        switch (rnd(7)) {
          case 0: return hashed(pick());
          case 1: return `${pick()},${pick().toUpperCase()}`;
          case 2: return ['node*', 'node0?', '*.example.org', '[127.0.10.4]:*', '*'][rnd(5)];
          case 3: return `node*,!${pick()}`;
          case 4: return `${pick()},${pick()},${pick()}`;
          default: return pick();
        }
      };
      const files = [path.join(dir, 'a'), path.join(dir, 'b'), path.join(dir, 'missing')];
      const write = () => {
        for (const f of files.slice(0, 2)) {
          const lines = Array.from({ length: 60 }, (_, i) => `${['', '', '', '@revoked ', '@cert-authority '][rnd(5)]}${field()} ssh-ed25519 ${blob('ssh-ed25519', `k${i}`).toString('base64')}`);
          fs.writeFileSync(f, lines.join('\n') + '\n');
        }
      };
      const check = () => {
        let total = 0;
        for (const n of [...names, 'node01'.toUpperCase(), 'nowhere', '[127.0.10.4]:2222']) {
          const want = readKnownHosts(files).filter((e) => entryMatches(e.hosts, n));
          expect(knownHostsFor(files, n)).toEqual(want);
          expect(knownHostsFor(files, n)).toEqual(want); // the kept answer is the same
          total += want.length;
        }
        expect(total).toBeGreaterThan(100);
      };
      write();
      check();
      // another content of another size: read again, the kept answers forgotten
      seed = 99;
      write();
      fs.appendFileSync(files[0], `node01 ssh-rsa ${R.toString('base64')}\n`);
      check();
      expect(knownHostsFor(files, 'node01').at(-1)?.keyType ?? '').not.toBe('');
      expect(knownHostsFor([files[0]], 'node01').some((e) => e.keyType === 'ssh-rsa')).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
