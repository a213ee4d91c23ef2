/**
 * Hostile input to SSH:PUSH and SSH:PULL: what a node sends (names in a tree, links, devices, endless
 * files, set-uid modes, sha256sum answers) and what is planted in the local directory (links, names
 * taken) never makes vacm write outside the directory, follow a link, or run a path as a command.
 * The nodes here are a fake SFTP server over an in-memory tree per node (no network): the real one
 * is test/integration/ssh-copy.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { makeEngine, tempDir } from '../helpers/engine.js';
import { createSshModule } from '../../src/backends/ssh/module.js';
import type { FileTransport } from '../../src/backends/ssh/copy.js';
import { SimCluster } from '../../src/backends/sim/cluster.js';
import { pulledName, parseSha256sumZ, unsafeComponent } from '../../src/protocol/copy.js';
import { splitShellWords } from '../../src/protocol/shell-words.js';
import type { Engine } from '../../src/engine/engine.js';
import type { VacmEvent } from '../../src/protocol/events.js';
import { createProviders } from '../../src/backends/providers.js';

type FakeEntry = { kind: 'file'; data: Buffer; mode?: number; endless?: boolean } | { kind: 'dir'; entries: Record<string, FakeEntry> } | { kind: 'link'; to: string } | { kind: 'dev' };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function attrsOf(e: FakeEntry) {
  const mode = e.kind === 'file' ? S_IFREG | (e.mode ?? 0o644) : e.kind === 'dir' ? S_IFDIR | 0o755 : e.kind === 'link' ? S_IFLNK | 0o777 : S_IFCHR | 0o666;
  return { mode, size: e.kind === 'file' ? e.data.length : 0, uid: 0, gid: 0, atime: 1700000000, mtime: 1700000000 };
}

/** A node's SFTP server over `root`: the few requests copy.ts makes, and whatever names the tree holds. */
function fakeSftp(root: FakeEntry) {
  const lookup = (p: string): FakeEntry | undefined => {
    let cur: FakeEntry | undefined = root;
    for (const part of p.split('/').filter(Boolean)) cur = cur?.kind === 'dir' ? cur.entries[part] : undefined;
    return cur;
  };
  const noSuch = () => Object.assign(new Error('No such file'), { code: 2 });
  const handles = new Map<string, { e: FakeEntry; listed?: boolean }>();
  let next = 0;
  const handle = (e: FakeEntry) => {
    const h = Buffer.from(String(next++));
    handles.set(h.toString(), { e });
    return h;
  };
  return {
    stat: (p: string, cb: (e: Error | undefined, s?: unknown) => void) => {
      const e = lookup(p);
      queueMicrotask(() => (e ? cb(undefined, attrsOf(e)) : cb(noSuch())));
    },
    lstat(p: string, cb: (e: Error | undefined, s?: unknown) => void) {
      this.stat(p, cb);
    },
    open: (p: string, _f: string, cb: (e: Error | undefined, h?: Buffer) => void) => {
      const e = lookup(p);
      queueMicrotask(() => (e ? cb(undefined, handle(e)) : cb(noSuch())));
    },
    opendir: (p: string, cb: (e: Error | undefined, h?: Buffer) => void) => {
      const e = lookup(p);
      queueMicrotask(() => (e?.kind === 'dir' ? cb(undefined, handle(e)) : cb(noSuch())));
    },
    readdir: (h: Buffer, cb: (e: Error | undefined, l?: unknown[]) => void) => {
      const st = handles.get(h.toString())!;
      queueMicrotask(() => {
        if (st.listed || st.e.kind !== 'dir') return cb(Object.assign(new Error('EOF'), { code: 1 }));
        st.listed = true;
        const dir = st.e;
        cb(undefined, Object.entries(dir.entries).map(([filename, e]) => ({ filename, longname: filename, attrs: attrsOf(e) })));
      });
    },
    read: (h: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: (e: Error | undefined, n?: number) => void) => {
      const e = handles.get(h.toString())!.e;
      queueMicrotask(() => {
        if (e.kind !== 'file') return cb(Object.assign(new Error('Failure'), { code: 4 }));
        if (e.endless) {
          buf.fill(0x41, off, off + len);
          return cb(undefined, len);
        }
        const n = Math.max(0, Math.min(len, e.data.length - pos));
        e.data.copy(buf, off, pos, pos + n);
        cb(undefined, n);
      });
    },
    close: (_h: Buffer, cb: (e?: Error) => void) => queueMicrotask(() => cb()),
    end: () => {},
  };
}

const victimDir = tempDir('vacm-copy-victim-');

describe('SSH:PULL and SSH:PUSH with hostile nodes and a hostile local directory', () => {
  let dir: string;
  let trees: Record<string, FakeEntry>;
  let commands: string[];
  let engine: Engine;
  let stateDir: string;
  let events: VacmEvent[];
  let hashAnswer: (cmd: string) => string;

  beforeEach(async () => {
    dir = tempDir('vacm-copy-into-');
    trees = {};
    commands = [];
    hashAnswer = () => '';
    const transport: FileTransport = {
      withSftp: async (node, _vars, _signal, fn) => fn(fakeSftp(trees[node] ?? { kind: 'dir', entries: {} }) as never),
      run: async (_node, _vars, command) => {
        commands.push(command);
        return { stdout: hashAnswer(command), stderr: '', code: 0 };
      },
    };
    const mod = createSshModule({ pool: { exec: async () => ({ code: 0 }) }, providers: createProviders(new SimCluster({ seed: 1 })), files: transport });
    ({ engine, stateDir, events } = await makeEngine({ yaml: 'nodes:\n  - names: node[01-02]\n', modules: [mod] }));
  });

  afterEach(async () => {
    await engine.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const errorsOf = (id: number) => events.filter((e) => e.job === id && e.type === 'ERROR').map((e) => `${(e as { node?: string }).node}: ${(e as { code: string }).code}: ${(e as { message: string }).message}`);
  const pull = async (line: string) => {
    const v = await engine.submit(line).done;
    return { v, errors: errorsOf(v.id) };
  };

  it('a link planted at <basename>.<node> is replaced, never followed: the file it points to is untouched', async () => {
    const victim = path.join(victimDir, 'passwd');
    fs.writeFileSync(victim, 'root:x:0:0\n');
    fs.symlinkSync(victim, path.join(dir, 'app.log.node01'));
    trees.node01 = { kind: 'dir', entries: { var: { kind: 'dir', entries: { 'app.log': { kind: 'file', data: Buffer.from('from node01\n') } } } } };
    const { v, errors } = await pull(`SSH:PULL:node01:/var/app.log:${dir}`);
    expect(errors).toEqual([]);
    expect(v.ok).toBe(1);
    expect(fs.readFileSync(victim, 'utf8')).toBe('root:x:0:0\n');
    expect(fs.lstatSync(path.join(dir, 'app.log.node01')).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'app.log.node01'), 'utf8')).toBe('from node01\n');
    expect(fs.readdirSync(dir)).toEqual(['app.log.node01']); // no temporary file left
  });

  it('names a node lists inside a tree that would leave the directory fail the node; nothing is written outside', async () => {
    for (const bad of ['../escape', 'a/b', 'x\0y', 'n'.repeat(300)]) {
      trees.node01 = { kind: 'dir', entries: { t: { kind: 'dir', entries: { ok: { kind: 'file', data: Buffer.from('1') }, [bad]: { kind: 'file', data: Buffer.from('pwned') } } } } };
      const { v, errors } = await pull(`SSH:PULL:node01:/t:${dir}/sub:RECURSIVE`);
      expect(v.failed, JSON.stringify(bad)).toBe(1);
      expect(errors[0], JSON.stringify(bad)).toMatch(/^node01: ERR_COPY: node01 listed .* nothing of it was written outside the pull directory$/);
      expect(fs.existsSync(path.join(dir, 'escape'))).toBe(false);
      // the half-made tree is gone too
      expect(fs.readdirSync(path.join(dir, 'sub')), JSON.stringify(bad)).toEqual([]);
    }
    expect(fs.readdirSync(dir)).toEqual(['sub']);
    // "." and ".." as listed names are the directory's own entries: skipped, never followed
    trees.node01 = { kind: 'dir', entries: { t: { kind: 'dir', entries: { ok: { kind: 'file', data: Buffer.from('1') }, '..': { kind: 'file', data: Buffer.from('pwned') }, '.': { kind: 'file', data: Buffer.from('pwned') } } } } };
    const { v, errors } = await pull(`SSH:PULL:node01:/t:${dir}/sub:RECURSIVE`);
    expect(errors).toEqual([]);
    expect(v.ok).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'sub'))).toEqual(['t.node01']);
    expect(fs.readdirSync(path.join(dir, 'sub', 't.node01'))).toEqual(['ok']);
  });

  it('links and devices on the node are not followed nor copied; a device as the top path is refused', async () => {
    trees.node01 = { kind: 'dir', entries: { t: { kind: 'dir', entries: { keep: { kind: 'file', data: Buffer.from('k') }, link: { kind: 'link', to: '/etc/shadow' }, dev: { kind: 'dev' } } }, zero: { kind: 'dev' } } };
    const r1 = await pull(`SSH:PULL:node01:/t:${dir}:RECURSIVE`);
    expect(r1.errors).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 't.node01'))).toEqual(['keep']);
    const r2 = await pull(`SSH:PULL:node01:/zero:${dir}`);
    expect(r2.errors).toEqual(['node01: ERR_COPY: node01: /zero is not a regular file (a device or pipe could be endless); name a file']);
    expect(fs.existsSync(path.join(dir, 'zero.node01'))).toBe(false);
  });

  it('a file that never ends is read up to the size the node reported, and a set-uid mode is not kept', async () => {
    trees.node01 = { kind: 'dir', entries: { big: { kind: 'file', data: Buffer.alloc(100_000), endless: true, mode: 0o4755 } } };
    const { v, errors } = await pull(`SSH:PULL:node01:/big:${dir}:PRESERVE`);
    expect(errors).toEqual([]);
    expect(v.ok).toBe(1);
    const st = fs.statSync(path.join(dir, 'big.node01'));
    expect(st.size).toBe(100_000);
    expect(st.mode & 0o7777).toBe(0o755);
  });

  it('a remote path with no file name, and an existing directory at <basename>.<node>, are refused', async () => {
    trees.node01 = { kind: 'dir', entries: { etc: { kind: 'dir', entries: {} }, f: { kind: 'file', data: Buffer.from('x') } } };
    const r1 = await pull(`SSH:PULL:node01:/etc/..:${dir}`);
    expect(r1.errors[0]).toMatch(/^node01: ERR_COPY: cannot save "\/etc\/\.\." of node01 as "<basename>\.node01": the remote path "\/etc\/\.\." names no file/);
    fs.mkdirSync(path.join(dir, 'f.node01'));
    const r2 = await pull(`SSH:PULL:node01:/f:${dir}`);
    expect(r2.errors[0]).toMatch(/^node01: ERR_COPY: .*f\.node01 is an existing directory; remove it or pull into another directory$/);
    expect(fs.readdirSync(dir)).toEqual(['f.node01']);
  });

  it('a directory anyone may write into (not sticky) is refused before any node is asked', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const { v, errors } = await pull(`SSH:PULL:node[01-02]:/x:${open}`);
    expect(v.failed).toBe(2);
    expect(errors[0]).toMatch(/ERR_UNSAFE_FILE: .* is writable by everyone and not sticky/);
  });

  it("SKIP_SAME's remote paths are quoted one word each, and whatever a node answers is only compared", async () => {
    const src = path.join(dir, 'src.conf');
    fs.writeFileSync(src, 'x=1\n');
    const evil = "/tmp/a'; touch /tmp/pwned; echo '$(id)`id`\n";
    // a node answering garbage, a huge line, and the right hash for another path
    hashAnswer = () => `${'f'.repeat(64)}  /elsewhere\0garbage\n${'z'.repeat(10_000)}\0`;
    trees.node01 = { kind: 'dir', entries: {} };
    await engine.submit(`SSH:PUSH:node01:${src.replace(/:/g, '\\:')}:${evil.replace(/\n/g, '')}/{name}:SKIP_SAME`).done;
    expect(commands).toHaveLength(1);
    const split = splitShellWords(commands[0].replace(/ 2>\/dev\/null$/, ''));
    expect(split.ok && split.words.map((w) => w.text)).toEqual(['sha256sum', '-z', '--', evil.replace(/\n/g, '') + '/node01']);
  });
});

describe('the names PULL writes, and the names a node may send (pure)', () => {
  it.each([
    ['/var/log/syslog', 'node01', 'syslog.node01'],
    ['/var/log/', 'node01', 'log.node01'],
    ['relative/app.log', 'n1', 'app.log.n1'],
  ])('%s of %s is saved as %s', (remote, node, want) => {
    expect(pulledName(remote, node)).toBe(want);
  });

  it.each([['/'], ['/..'], ['..'], ['/etc/.'], ['']])('%j names no file: refused', (remote) => {
    expect(() => pulledName(remote, 'node01')).toThrow(/names no file/);
  });

  it.each([['../x'], ['a/b'], ['x'.repeat(300)]])('a node name %j that would not be one component is refused', (node) => {
    expect(() => pulledName('/var/log/syslog', node)).toThrow(/ERR_COPY|cannot save/);
  });

  it.each([
    ['ok.txt', undefined],
    ['..', 'the name ".."'],
    ['.', 'the name "."'],
    ['a/b', 'a name with "/" in it'],
    ['a\0b', 'a name with a NUL byte in it'],
    ['', 'an empty name'],
  ])('unsafeComponent(%j) is %j', (name, want) => {
    expect(unsafeComponent(name)).toBe(want);
  });

  it('sha256sum -z answers are read back by name; garbage is ignored', () => {
    const h = 'a'.repeat(64);
    expect([...parseSha256sumZ(`${h}  /x y\n\0${h} */bin\0junk\0`)]).toEqual([['/x y\n', h], ['/bin', h]]);
  });
});
