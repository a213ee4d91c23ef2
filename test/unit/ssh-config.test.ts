import { describe, expect, it } from 'vitest';
import { expandSshPath, hostMatches, indexSshConfig, parseSshConfig, resolveHostConfig, splitConfigLine } from '../../src/backends/ssh/ssh-config.js';
import { parseSshSection } from '../../src/backends/ssh/settings.js';

const CONFIG = `
# global lines apply to every host
ServerAliveInterval 30

Host node0? !node09
  HostName 127.0.10.%h
  Port 2222
  User ops

Host node*
  Port 22
  User root
  IdentityFile ~/.ssh/cluster_ed25519
  StrictHostKeyChecking accept-new

Host gw "jump host"
  HostName=10.0.0.1
  UserKnownHostsFile ~/.ssh/kh_gw /etc/ssh/kh_extra

Match host node01
  User matched

Host *
  IdentityFile ~/.ssh/id_ed25519
  ConnectTimeout 7
  StrictHostKeyChecking no
`;

describe('ssh_config parsing', () => {
  const blocks = parseSshConfig(CONFIG);

  it.each([
    ['node05', { hostName: '127.0.10.%h', port: 2222, user: 'ops', identityFiles: ['~/.ssh/cluster_ed25519', '~/.ssh/id_ed25519'], strictHostKeyChecking: 'accept-new', connectTimeoutS: 7 }],
    // node09 is excluded by !node09 in the first block: the second block's values apply
    ['node09', { port: 22, user: 'root', identityFiles: ['~/.ssh/cluster_ed25519', '~/.ssh/id_ed25519'], strictHostKeyChecking: 'accept-new', connectTimeoutS: 7 }],
    // node10 has two digits: node0? does not match
    ['node10', { port: 22, user: 'root', identityFiles: ['~/.ssh/cluster_ed25519', '~/.ssh/id_ed25519'], strictHostKeyChecking: 'accept-new', connectTimeoutS: 7 }],
    // Match blocks are skipped: node01 is not "matched"
    ['node01', { hostName: '127.0.10.%h', port: 2222, user: 'ops', identityFiles: ['~/.ssh/cluster_ed25519', '~/.ssh/id_ed25519'], strictHostKeyChecking: 'accept-new', connectTimeoutS: 7 }],
    ['gw', { hostName: '10.0.0.1', userKnownHostsFiles: ['~/.ssh/kh_gw', '/etc/ssh/kh_extra'], identityFiles: ['~/.ssh/id_ed25519'], strictHostKeyChecking: 'no', connectTimeoutS: 7 }],
    ['jump host', { hostName: '10.0.0.1', userKnownHostsFiles: ['~/.ssh/kh_gw', '/etc/ssh/kh_extra'], identityFiles: ['~/.ssh/id_ed25519'], strictHostKeyChecking: 'no', connectTimeoutS: 7 }],
    ['other', { identityFiles: ['~/.ssh/id_ed25519'], strictHostKeyChecking: 'no', connectTimeoutS: 7 }],
  ] as const)('%s → first value per keyword wins', (host, want) => {
    expect(resolveHostConfig(blocks, host)).toEqual(want);
  });

  it('an empty config gives nothing', () => {
    expect(resolveHostConfig(parseSshConfig(''), 'x')).toEqual({ identityFiles: [] });
  });

  it('IdentityFile none adds nothing; bad ports are ignored so a later valid one applies', () => {
    const b = parseSshConfig('Host a\n  IdentityFile none\n  Port banana\nHost *\n  Port 2200\n');
    expect(resolveHostConfig(b, 'a')).toEqual({ identityFiles: [], port: 2200 });
  });

  it('keywords are case-insensitive and StrictHostKeyChecking accepts true/false', () => {
    const b = parseSshConfig('host A*\n  HOSTNAME 1.2.3.4\n  stricthostkeychecking false\n');
    expect(resolveHostConfig(b, 'Abc')).toEqual({ hostName: '1.2.3.4', identityFiles: [], strictHostKeyChecking: 'no' });
    // the pattern is not (ssh -G abc: port 22, nothing of the block)
    expect(resolveHostConfig(b, 'abc')).toEqual({ identityFiles: [] });
  });
});

describe('the ssh_config index (a Host block per node, looked up by name)', () => {
  it('gives the same settings as trying every block, for every host, on seeded configs', () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const hosts = ['node01', 'NODE02', 'node03', 'gw', 'jump host', 'web1.example.org', 'x', 'node10'];
    const pattern = () => {
      const h = hosts[rnd(hosts.length)];
      return [h, h.toUpperCase(), `"${h}"`, 'node0?', 'node*', `!${h}`, '*.example.org', `${h},${hosts[rnd(hosts.length)]}`, '*'][rnd(9)];
    };
    const option = () => [`HostName 10.0.0.${rnd(9)}`, `Port ${rnd(3) === 0 ? 'bad' : 2200 + rnd(9)}`, `User u${rnd(5)}`, `IdentityFile ~/.ssh/k${rnd(4)}`, 'IdentityFile none', `IdentitiesOnly ${rnd(2) ? 'yes' : 'no'}`, `UserKnownHostsFile ~/kh${rnd(3)}`, `StrictHostKeyChecking ${['yes', 'no', 'accept-new', 'ask'][rnd(4)]}`, `ConnectTimeout ${rnd(20)}`][rnd(9)];
    for (let round = 0; round < 40; round++) {
      const lines: string[] = [option()];
      for (let b = 0; b < 12; b++) {
        lines.push(rnd(8) === 0 ? `Match host ${hosts[rnd(hosts.length)]}` : `Host ${Array.from({ length: 1 + rnd(3) }, pattern).join(' ')}`);
        for (let o = rnd(4); o >= 0; o--) lines.push(`  ${option()}`);
      }
      const blocks = parseSshConfig(lines.join('\n'));
      const index = indexSshConfig(blocks);
      for (const h of [...hosts, 'nowhere', 'Node01']) expect(resolveHostConfig(blocks, h, index)).toEqual(resolveHostConfig(blocks, h));
    }
  });

  it('a block per node: each node gets its own HostName and the shared Host * settings', () => {
    const text = [...Array.from({ length: 300 }, (_, i) => `Host node${i}\n  HostName 127.0.${i >> 8}.${i & 255}`), 'Host *', '  Port 2222', '  User ops'].join('\n');
    const blocks = parseSshConfig(text);
    const index = indexSshConfig(blocks);
    expect(index.patterned).toEqual([0, 301]); // the (empty) lines before the first Host, and Host *
    expect(resolveHostConfig(blocks, 'node257', index)).toEqual({ hostName: '127.0.1.1', port: 2222, user: 'ops', identityFiles: [] });
    // Host lines match as written, as ssh's do: NODE3 gets only Host *
    expect(resolveHostConfig(blocks, 'NODE3', index)).toEqual({ port: 2222, user: 'ops', identityFiles: [] });
  });
});

describe('splitConfigLine', () => {
  it.each([
    ['Host a b', ['Host', 'a', 'b']],
    ['HostName=1.2.3.4', ['HostName', '1.2.3.4']],
    ['HostName = 1.2.3.4', ['HostName', '1.2.3.4']],
    ['IdentityFile "/path/with space/key"', ['IdentityFile', '/path/with space/key']],
    ['  Port\t22  ', ['Port', '22']],
    ['Compression', ['Compression']],
  ])('%j', (line, want) => expect(splitConfigLine(line)).toEqual(want));
});

describe('Host patterns', () => {
  it.each([
    ['node01', ['node*'], true],
    ['node01', ['node0?'], true],
    ['node011', ['node0?'], false],
    ['NODE01', ['node01'], false],
    ['NODE01', ['NODE0?'], true],
    ['node09', ['node0?', '!node09'], false],
    ['node09', ['!node09'], false],
    ['a.example.org', ['*.example.org'], true],
    ['example.org', ['*.example.org'], false],
    ['x', ['a,x'], false],
    ['a,x', ['a,x'], true],
  ] as const)('%s vs %j → %s', (name, pats, want) => expect(hostMatches(name, pats)).toBe(want));
});

describe('path tokens', () => {
  const t = { home: '/home/op', host: 'node01', hostName: '127.0.10.1', port: 2222, user: 'root', localUser: 'op' };
  it.each([
    ['~/.ssh/id_ed25519', '/home/op/.ssh/id_ed25519'],
    ['%d/.ssh/%r@%h:%p', '/home/op/.ssh/root@127.0.10.1:2222'],
    ['/keys/%n-%u', '/keys/node01-op'],
    ['100%%', '100%'],
  ])('%s → %s', (p, want) => expect(expandSshPath(p, t)).toBe(want));
});

describe('the ssh: section of vacm.yaml', () => {
  it('defaults', () => {
    expect(parseSshSection(undefined)).toEqual({ agent: true, keepaliveMs: 15000, idleCloseMs: 300000 });
  });
  it('reads every key', () => {
    expect(parseSshSection({
      connect_timeout_ms: 5000, command_timeout_ms: 60000, strict_host_key_checking: 'accept-new', known_hosts: '/kh',
      identity: ['/a', '/b'], user: 'ops', port: 2222, config: false, agent: false, keepalive_ms: 0, idle_close_ms: 1000,
    })).toEqual({
      connectTimeoutMs: 5000, commandTimeoutMs: 60000, strictHostKeyChecking: 'accept-new', knownHosts: ['/kh'], identity: ['/a', '/b'],
      user: 'ops', port: 2222, configFile: false, agent: false, keepaliveMs: 0, idleCloseMs: 1000,
    });
  });
  it.each([
    [{ connect_timeout_ms: -1 }, /ssh\.connect_timeout_ms: must be a whole number/],
    [{ strict_host_key_checking: 'maybe' }, /ssh\.strict_host_key_checking: must be yes, accept-new or no/],
    [{ port: 70000 }, /ssh\.port: must be a port number/],
    [{ identity: [] }, /ssh\.identity: must be a file path/],
    [{ colour: 'red' }, /ssh\.colour: unknown key; ssh takes connect_timeout_ms/],
    ['yes', /ssh: must be a mapping/],
  ])('%j is refused with ERR_CONFIG', (raw, msg) => {
    expect(() => parseSshSection(raw)).toThrow(msg);
    try {
      parseSshSection(raw);
    } catch (err) {
      expect((err as { code: string }).code).toBe('ERR_CONFIG');
    }
  });
});
