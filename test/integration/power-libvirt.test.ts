/**
 * POWER through the libvirt driver with virsh and libvirt's test driver on a node XML of our own.
 * The test driver keeps state only inside one virsh process, so every request starts from the
 * XML's states; the driver reads domstate in the same virsh call as the action, which is what
 * these tests check (see docs/power.md).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages, powerEngine, results, type Harness } from '../backends/power/harness.js';
import { domstateToPower, virshScript } from '../../src/backends/power/drivers/libvirt.js';
import { libvirtSessionAvailable, startLibvirtSession, type LibvirtSession } from '../fixtures/libvirt-session.js';
import { hasBinary } from '../helpers/peers.js';

const run = promisify(execFile);
const have = hasBinary('virsh');

function domain(name: string, running: boolean): string {
  // a fixed uuid: `define` in a later virsh then updates the domain instead of clashing with a random one
  const n = Number(name.replace(/\D/g, '')) || 0;
  return `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>${name}</name><uuid>00000000-0000-4000-8000-${String(n).padStart(12, '0')}</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>
    ${running ? '' : '<test:runstate>5</test:runstate>'}
  </domain>`;
}

describe('libvirt driver pieces', () => {
  it.each([
    ['running', 'on'], ['paused', 'on'], ['shut off', 'off'], ['crashed', 'off'], ['nostate', 'unknown'],
  ])('domstate %s → %s', (s, p) => expect(domstateToPower(s)).toBe(p));

  it('writes one virsh command string with the domain quoted for virsh', () => {
    expect(virshScript('cycle', 'vm1')).toBe('destroy --domain "vm1"; start --domain "vm1"; domstate --domain "vm1"');
    expect(virshScript('status', 'a "b"')).toBe('domstate --domain "a \\"b\\""');
  });
});

describe.skipIf(!have)('POWER with the libvirt driver against virsh test:/// (needs libvirt-clients)', () => {
  let dir: string;
  let h: Harness;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vacm-libvirt-'));
    const xml = path.join(dir, 'nodes.xml');
    // vm1-vm4 running, vm5-vm8 shut off
    fs.writeFileSync(xml, `<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><mhz>2000</mhz></cpu>
  <memory>8388608</memory>
  ${Array.from({ length: 8 }, (_, i) => domain(`vm${i + 1}`, i < 4)).join('\n')}
</node>\n`);
    h = await powerEngine(`
nodes:
  - names: vm[1-8]
    vars: { power: libvirt, libvirt_uri: "test://${xml}" }
  - names: guest1
    vars: { power: libvirt, libvirt_uri: "test://${xml}", libvirt_domain: vm5 }
  - names: missing
    vars: { power: libvirt, libvirt_uri: "test://${xml}" }
`);
  }, 30000);

  afterAll(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads domain states', async () => {
    const r = await h.run('POWER:STATUS:vm[1-8],guest1');
    expect(results(r.lines)).toEqual({ vm1: 'on', vm2: 'on', vm3: 'on', vm4: 'on', vm5: 'off', vm6: 'off', vm7: 'off', vm8: 'off', guest1: 'off' });
  });

  it('starts, destroys, cycles, resets and shuts down domains, each checked by domstate in the same virsh', async () => {
    expect(results((await h.run('POWER:ON:vm[1-8],guest1')).lines)).toEqual(Object.fromEntries([...Array.from({ length: 8 }, (_, i) => [`vm${i + 1}`, 'on']), ['guest1', 'on']]));
    expect(results((await h.run('POWER:OFF:vm[1-8]')).lines)).toEqual(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`vm${i + 1}`, 'off'])));
    expect(results((await h.run('POWER:CYCLE:vm[1,5]')).lines)).toEqual({ vm1: 'on', vm5: 'on' });
    expect(results((await h.run('POWER:SOFT:vm[1-2]')).lines)).toEqual({ vm1: 'off', vm2: 'off' });
    expect(results((await h.run('POWER:RESET:vm1')).lines)).toEqual({ vm1: 'on' });
  });

  it('a reset of a shut-off domain and an unknown domain are ERR_LIBVIRT with the reason', async () => {
    const r = await h.run('POWER:RESET:vm6,missing');
    expect(results(r.lines)).toEqual({ vm6: 'ERR_LIBVIRT', missing: 'ERR_LIBVIRT' });
    const msg = messages(r.events);
    expect(msg.vm6).toMatch(/could not reset vm6: .*domain is not running; it is shut off/);
    expect(msg.missing).toMatch(/has no domain missing; set libvirt_domain/);
  });

  it('BOOTDEV sets the boot order (read back by dumpxml in the same virsh) and reads it; once, efi and bios are refused', async () => {
    const bootdev = (lines: string[]) => Object.fromEntries(lines.filter((l) => l.includes(':BOOTDEV:')).map((l) => [l.split(':')[3], l.split(':').slice(4).join(':')]));
    expect(bootdev((await h.run('POWER:BOOTDEV:vm[1-2]')).lines)).toEqual({ vm1: 'disk:persistent', vm2: 'disk:persistent' });
    const set = await h.run('POWER:BOOTDEV:vm1,guest1:pxe:persistent');
    expect(set.view.dangerous).toBe(true);
    expect(bootdev(set.lines)).toEqual({ vm1: 'pxe:persistent', guest1: 'pxe:persistent' });
    expect(bootdev((await h.run('POWER:BOOTDEV:vm2:cdrom:persistent')).lines)).toEqual({ vm2: 'cdrom:persistent' });
    expect(bootdev((await h.run('POWER:BOOTDEV:vm3:default:persistent')).lines)).toEqual({ vm3: 'disk:persistent' });
    const no = await h.run('POWER:BOOTDEV:vm1:pxe');
    expect(results(no.lines)).toEqual({ vm1: 'ERR_UNSUPPORTED' });
    expect(messages(no.events).vm1).toMatch(/libvirt keeps a boot order, not a next-boot device; add :persistent/);
    expect(results((await h.run('POWER:BOOTDEV:vm2:pxe:persistent:efi')).lines)).toEqual({ vm2: 'ERR_UNSUPPORTED' });
    expect(results((await h.run('POWER:BOOTDEV:vm3:bios:persistent')).lines)).toEqual({ vm3: 'ERR_UNSUPPORTED' });
    const missing = await h.run('POWER:BOOTDEV:missing:pxe:persistent');
    expect(messages(missing.events).missing).toMatch(/has no domain missing; set libvirt_domain/);
  });
});

describe.skipIf(!libvirtSessionAvailable())('POWER with the libvirt driver against a session libvirtd with tiny QEMU domains (needs libvirt-daemon, qemu-system-x86)', () => {
  let lv: LibvirtSession;
  let h: Harness;

  beforeAll(async () => {
    lv = await startLibvirtSession({ domains: ['tiny1', 'tiny2'] });
    // the session daemon's URI names its socket: a parameter vacm takes only when the config opts in
    h = await powerEngine(`
power: { drivers: { libvirt: { allow_uri_params: [socket] } } }
nodes:
  - names: tiny[1-2]
    vars: { power: libvirt, libvirt_uri: "${lv.uri}" }
`, );
  }, 60000);

  afterAll(async () => {
    await h?.close();
    await lv?.stop();
  }, 60000);

  it('state lasts between requests, and virsh agrees', async () => {
    expect(results((await h.run('POWER:STATUS:tiny[1-2]')).lines)).toEqual({ tiny1: 'off', tiny2: 'off' });
    expect(results((await h.run('POWER:ON:tiny[1-2]')).lines)).toEqual({ tiny1: 'on', tiny2: 'on' });
    expect(await lv.domstate('tiny1')).toBe('running');
    expect(results((await h.run('POWER:STATUS:tiny[1-2]')).lines)).toEqual({ tiny1: 'on', tiny2: 'on' });
    expect(results((await h.run('POWER:RESET:tiny2')).lines)).toEqual({ tiny2: 'on' });
    expect(results((await h.run('POWER:OFF:tiny1')).lines)).toEqual({ tiny1: 'off' });
    expect(await lv.domstate('tiny1')).toBe('shut off');
    expect(await lv.domstate('tiny2')).toBe('running');
    expect(results((await h.run('POWER:CYCLE:tiny[1-2]')).lines)).toEqual({ tiny1: 'on', tiny2: 'on' });
    expect(await lv.domstate('tiny1')).toBe('running');
    // a guest with no OS ignores the ACPI shutdown: it stays on, and POWER says so
    expect(results((await h.run('POWER:SOFT:tiny2')).lines)).toEqual({ tiny2: 'on' });
    expect(results((await h.run('POWER:OFF:tiny[1-2]')).lines)).toEqual({ tiny1: 'off', tiny2: 'off' });
  }, 60000);

  it('BOOTDEV changes the boot order libvirt keeps: a later virsh dumpxml has the device first', async () => {
    const bootOrder = async (d: string) => [...(await run('virsh', ['-c', lv.uri, 'dumpxml', '--inactive', d], { timeout: 30000 })).stdout.matchAll(/<boot dev='(\w+)'\/>/g)].map((m) => m[1]);
    expect(await bootOrder('tiny1')).toEqual(['hd']);
    const r = await h.run('POWER:BOOTDEV:tiny1:pxe:persistent');
    expect(r.lines.filter((l) => l.includes(':BOOTDEV:')).map((l) => l.split(':').slice(3).join(':'))).toEqual(['tiny1:pxe:persistent']);
    expect(await bootOrder('tiny1')).toEqual(['network', 'hd']);
    expect(await bootOrder('tiny2')).toEqual(['hd']);
    const back = await h.run('POWER:BOOTDEV:tiny1');
    expect(back.lines.some((l) => l.endsWith(':BOOTDEV:tiny1:pxe:persistent'))).toBe(true);
    await h.run('POWER:BOOTDEV:tiny1:default:persistent');
    expect(await bootOrder('tiny1')).toEqual(['hd']);
  }, 60000);
});
