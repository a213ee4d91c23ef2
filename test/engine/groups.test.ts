/**
 * `@group` in every request: vacm.yaml's groups first, then ClusterShell's group sources from a
 * temporary CLUSTERSHELL_CFGDIR (static YAML groups, an upcall source backed by a script, an
 * untrusted file). Inside an IPC string a source's colon is written `\:`; the dashboard's filter
 * (engine.resolve) takes `@slurm:gpu` as ClusterShell does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { parseConfig } from '../../src/engine/config.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { loadClusterShellGroups, parseIni } from '../../src/platform/clustershell-groups.js';
import { run, tempDir } from '../helpers/engine.js';

const YAML = `
cluster: t
nodes:
  - names: n[1-8]
    groups: [compute]
  - names: g[1-2]
  - names: u[1-6]
`;

function cfgDir(opts: { groupsConf?: string; upScript?: string } = {}): string {
  const dir = tempDir('vacm-cs-');
  fs.mkdirSync(path.join(dir, 'groups.d'));
  fs.writeFileSync(path.join(dir, 'groups.conf'), opts.groupsConf ?? [
    '[Main]', 'default: yml', 'autodir: $CFGDIR/groups.d', '',
    '[slurm]', 'map: ./up.sh map $GROUP', 'list: ./up.sh list', 'cache_time: 0', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'groups.d', 'cluster.yaml'), 'yml:\n  rack1: n[1-4]\n  compute: n[7-8]\n  gpu: [g1, g2]\n');
  const script = path.join(dir, 'up.sh');
  fs.writeFileSync(script, opts.upScript ?? '#!/bin/sh\ncase "$1" in list) echo gpu cpu;; map) case "$2" in gpu) echo g[1-2];; cpu) echo u1 u2;; *) exit 1;; esac;; esac\n');
  fs.chmodSync(script, 0o755);
  return dir;
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

async function engineWith(dir: string) {
  const e = new Engine({
    config: parseConfig(YAML, 'g.yaml'),
    modules: [nexxusModule],
    stateDir: tempDir(),
    localName: 'not-here',
    clusterShellGroups: { env: { CLUSTERSHELL_CFGDIR: dir, HOME: dir } },
  });
  await e.start();
  engines.push(e);
  return e;
}

const listed = (lines: string[]) => lines.filter((l) => l.includes(':NODELIST:')).map((l) => l.split(':').at(-1));

describe('group sources in the engine', () => {
  it('IPC requests: @group from the default source, @source\\:group, vacm.yaml groups first', async () => {
    const e = await engineWith(cfgDir());
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@rack1'))).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@slurm\\:gpu'))).toEqual(['g1', 'g2']);
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@slurm\\:cpu,@yml\\:gpu'))).toEqual(['g1', 'g2', 'u1', 'u2']);
    // vacm.yaml's compute wins over the YAML source's; the YAML one is still there by name
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@compute'))).toHaveLength(8);
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@yml\\:compute'))).toEqual(['n7', 'n8']);
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@vacm\\:compute'))).toHaveLength(8);
  });

  it('the dashboard filter (engine.resolve) takes @slurm:gpu as ClusterShell writes it', async () => {
    const e = await engineWith(cfgDir());
    expect(e.resolve('@slurm:gpu')).toEqual(['g1', 'g2']);
    expect(e.resolve('@slurm:cpu!u1')).toEqual(['u2']);
  });

  it('an unknown group or source is an error naming it, and the next request is served', async () => {
    const e = await engineWith(cfgDir());
    await expect(run(e, 'NEXXUS:NODE_LIST:@slurm\\:nope')).rejects.toMatchObject({ code: 'ERR_NODESET_PARSE', message: 'unknown group: "@slurm:nope"' });
    await expect(run(e, 'NEXXUS:NODE_LIST:@nosuch\\:x')).rejects.toMatchObject({ code: 'ERR_NODESET_PARSE', message: 'unknown group source "nosuch"; vacm nodeset --list-sources lists them' });
    expect(listed(await run(e, 'NEXXUS:NODE_LIST:@rack1'))).toHaveLength(4);
  });

  it('a group name that is shell syntax never reaches the upcall', async () => {
    const dir = cfgDir();
    const e = await engineWith(dir);
    const marker = path.join(dir, 'pwned');
    expect(() => e.resolve(`@slurm:x;touch ${marker}`)).toThrow(/illegal group name "x;touch .*" for group source "slurm"/);
    expect(() => e.resolve('@slurm:$(id)')).toThrow(/illegal group name/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('upcalls from a group-writable groups.conf are refused with ERR_UNSAFE_FILE; static groups still work', async () => {
    const dir = cfgDir();
    fs.chmodSync(path.join(dir, 'groups.conf'), 0o664);
    const e = await engineWith(dir);
    expect(() => e.resolve('@slurm:gpu')).toThrow(/ClusterShell group file .*groups\.conf is writable by its group \(mode 0664\); chmod go-w/);
    expect(e.resolve('@rack1')).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('an upcall that hangs times out; one that floods is cut off', () => {
    const dir = cfgDir({ upScript: '#!/bin/sh\ncase "$2" in slow) exec sleep 30;; big) yes n1 | head -c 1000000;; esac\n' });
    const env = { CLUSTERSHELL_CFGDIR: dir, HOME: dir };
    const slow = loadClusterShellGroups({ env, timeoutMs: 300 });
    expect(() => slow.resolve('slurm:slow')).toThrow(/the map upcall did not finish in 0.3 s/);
    const big = loadClusterShellGroups({ env, maxOutputBytes: 1000 });
    expect(() => big.resolve('slurm:big')).toThrow(/printed more than 1000 bytes/);
  }, 20_000);

  it('cache_time: answers are kept that long', () => {
    const dir = cfgDir();
    const conf = path.join(dir, 'groups.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('cache_time: 0', 'cache_time: 60'));
    let now = 1_000_000;
    const gs = loadClusterShellGroups({ env: { CLUSTERSHELL_CFGDIR: dir, HOME: dir }, now: () => now });
    expect(gs.resolve('slurm:gpu')).toBe('g[1-2]');
    fs.writeFileSync(path.join(dir, 'up.sh'), '#!/bin/sh\necho z1\n');
    expect(gs.resolve('slurm:gpu')).toBe('g[1-2]');
    now += 61_000;
    expect(gs.resolve('slurm:gpu')).toBe('z1');
  });

  it('parseIni reads groups.conf as ConfigParser does', () => {
    const ini = parseIni('# c\n[Main]\ndefault = a\n[a,b]\nmap: echo $GROUP\n  more\n; x\nList: ls\n');
    expect(Object.fromEntries(ini.get('Main')!)).toEqual({ default: 'a' });
    expect(Object.fromEntries(ini.get('a,b')!)).toEqual({ map: 'echo $GROUP\nmore', list: 'ls' });
  });
});
