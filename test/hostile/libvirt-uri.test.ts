/**
 * A libvirt_uri that runs a local program (issue 10, item 6): `test+ext:///default?command=/x.sh`
 * made virsh run /x.sh as root on POWER:STATUS, even read-only. vacm now takes only known
 * transports and refuses command=, socket=, netcat=, no_verify= (and every parameter it does not
 * know) unless power.drivers.libvirt opts in. With the real virsh (libvirt-clients) and a marker
 * script: the program must not run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLibvirtUri } from '../../src/backends/power/drivers/libvirt.js';
import { parsePowerSection } from '../../src/backends/power/settings.js';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';
import { tempDir } from '../helpers/engine.js';
import { nexxusModule } from '../../src/backends/nexxus.js';
import { hasBinary } from '../helpers/peers.js';

const have = hasBinary('virsh');

describe('checkLibvirtUri', () => {
  it.each([
    'qemu:///system',
    'qemu+ssh://root@host1/system',
    'qemu+ssh://root@host1:2222/system?keyfile=/root/.ssh/id_ed25519&no_tty=1',
    'qemu+tls://[fd00::1]:16514/system',
    'qemu+libssh2://admin@10.0.0.5/system?sshauth=privkey',
    'test:///default',
    'test:///tmp/nodes.xml',
    'xen+tcp://dom0.example/',
    'qemu+unix:///session?mode=direct',
    'my-alias', // uri_aliases from the operator's own libvirt.conf
  ])('takes %s', (uri) => {
    expect(() => checkLibvirtUri('n1', uri)).not.toThrow();
  });

  it.each([
    ['test+ext:///default?command=/tmp/x.sh', /uses the ext transport, which runs a local program.*allow_transports: \[ext\]/],
    ['TEST+EXT:///default', /ext transport/],
    ['qemu+ssh://host/system?command=/tmp/x.sh', /parameter command=.*names a program to run.*allow_uri_params: \[command\]/],
    ['qemu+ssh://host/system?netcat=/tmp/x.sh', /parameter netcat=/],
    ['qemu+unix:///system?socket=/tmp/evil.sock', /parameter socket=/],
    ['qemu+tls://host/system?no_verify=1', /parameter no_verify=/],
    ['qemu+libssh://host/system?known_hosts_verify=ignore', /parameter known_hosts_verify=/],
    ['qemu+ssh://host/system?mode=direct&COMMAND=/x', /parameter command=/],
    ['qemu+ssh://host/system?comm%61nd=/x', /parameter command=/], // libvirt decodes names
    ['qemu+ssh://host/system?mode=direct;socket=/x', /parameter socket=/], // ; separates too
    ['qemu+ssh://-oProxyCommand=touch%20x/system', /bad host name/],
    ['qemu+ssh://-oProxyCommand=x@host/system', /bad user name/],
    ['qemu+foo://host/system', /uses the foo transport/],
    ['qemu:///system\n', /control characters/],
    ['-c', /not a libvirt URI/],
    ['/tmp/x.sh', /not a libvirt URI/],
  ])('refuses %s', (uri, why) => {
    expect(() => checkLibvirtUri('n1', uri)).toThrow(why);
    try {
      checkLibvirtUri('n1', uri);
    } catch (err) {
      expect(err).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/^n1: libvirt_uri /) });
    }
  });

  it('takes what the config opts into, lower-cased', () => {
    const s = parsePowerSection({ drivers: { libvirt: { timeout_ms: 5000, allow_transports: ['EXT'], allow_uri_params: ['socket', 'command'] } } });
    expect(s.libvirtUri).toEqual({ allowTransports: ['ext'], allowUriParams: ['socket', 'command'] });
    expect(s.drivers.libvirt).toEqual({ timeoutMs: 5000 });
    expect(() => checkLibvirtUri('n1', 'test+ext:///default?command=/x.sh', s.libvirtUri)).not.toThrow();
    expect(() => checkLibvirtUri('n1', 'qemu+ssh://h/system?netcat=/x', s.libvirtUri)).toThrow(/netcat/);
    expect(() => parsePowerSection({ drivers: { libvirt: { allow_transports: 'ext; rm' } } })).toThrow(/power.drivers.libvirt.allow_transports: must be a list of names/);
    expect(() => parsePowerSection({ drivers: { ipmi: { allow_transports: ['ext'] } } })).toThrow(/power.drivers.ipmi.allow_transports: unknown key/);
  });
});

describe.skipIf(!have)('a libvirt_uri that would run a program, with the real virsh (needs libvirt-clients)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  function marker(): { script: string; marker: string } {
    const dir = tempDir('vacm-libvirt-uri-');
    const m = path.join(dir, 'ran');
    const script = path.join(dir, 'x.sh');
    fs.writeFileSync(script, `#!/bin/sh\ntouch ${m}\n`, { mode: 0o755 });
    return { script, marker: m };
  }

  it('POWER:STATUS refuses the ext URI from the config, read-only or not, and the program never runs', async () => {
    const { script, marker: m } = marker();
    for (const readOnly of [false, true]) {
      h = await powerEngine(`
nodes:
  - names: vm1
    vars: { power: libvirt, libvirt_uri: "test+ext:///default?command=${script}" }
`, { readOnly });
      const r = await h.run('POWER:STATUS:vm1');
      expect(results(r.lines)).toEqual({ vm1: 'ERR_CONFIG' });
      expect(messages(r.events).vm1).toMatch(/^vm1: libvirt_uri "test\+ext:\/\/\/default\?command=.*" uses the ext transport, which runs a local program/);
      await h.close();
      h = undefined;
    }
    expect(fs.existsSync(m)).toBe(false);
  });

  it('a URI changed at run time by SET_VAR is checked on its next use', async () => {
    const { script, marker: m } = marker();
    h = await powerEngine(`
nodes:
  - names: vm1
    vars: { power: libvirt, libvirt_uri: "test:///default", libvirt_domain: test }
`, { extra: [nexxusModule] });
    expect(results((await h.run('POWER:STATUS:vm1')).lines)).toEqual({ vm1: 'on' });
    for (const uri of [`test+ext:///default?command=${script}`, `test+ssh://h/default?command=${script}`, `test+ssh://h/default?netcat=${script}`]) {
      await h.run(`NEXXUS:SET_VAR:vm1:libvirt_uri:${uri}`);
      const r = await h.run('POWER:STATUS:vm1');
      expect(results(r.lines)).toEqual({ vm1: 'ERR_CONFIG' });
    }
    expect(fs.existsSync(m)).toBe(false);
  });

  it('the opt-in lets it through: the same marker then appears (so the checks above can fail)', async () => {
    const { script, marker: m } = marker();
    h = await powerEngine(`
power: { drivers: { libvirt: { allow_transports: [ext], allow_uri_params: [command] } } }
nodes:
  - names: vm1
    vars: { power: libvirt, libvirt_uri: "test+ext:///default?command=${script}" }
`);
    const r = await h.run('POWER:STATUS:vm1');
    expect(results(r.lines)).toEqual({ vm1: 'ERR_LIBVIRT' }); // the script speaks no libvirt protocol
    expect(fs.existsSync(m)).toBe(true);
  });
});
