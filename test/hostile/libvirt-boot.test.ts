/** The libvirt boot order rewrite (pure): only the domain's own <os> is read and changed, whatever the XML carries elsewhere. */
import { describe, expect, it } from 'vitest';
import { MAX_DOMAIN_XML, readBootOrder, setBootOrder } from '../../src/backends/power/drivers/libvirt-boot.js';

const dom = (os: string, extra = '') => `<domain type='kvm'>\n  <name>vm1</name>\n${extra}  <os>\n    <type arch='x86_64'>hvm</type>\n${os}  </os>\n  <devices>\n  </devices>\n</domain>`;
const P = { persistent: true, efi: false } as const;
const order = (xml: string) => [...xml.matchAll(/<boot dev='(\w+)'\/>/g)].map((m) => m[1]);

describe('libvirt boot order', () => {
  it('puts the device first and keeps the others after it; default is the disk alone', () => {
    const xml = dom("    <boot dev='hd'/>\n    <boot dev='cdrom'/>\n");
    expect(readBootOrder(xml, 'vm1')).toEqual({ device: 'disk', persistent: true, efi: false });
    const pxe = setBootOrder(xml, 'vm1', { device: 'pxe', ...P });
    expect(order(pxe)).toEqual(['network', 'hd', 'cdrom']);
    expect(readBootOrder(pxe, 'vm1').device).toBe('pxe');
    expect(order(setBootOrder(pxe, 'vm1', { device: 'cdrom', ...P }))).toEqual(['cdrom', 'network', 'hd']);
    expect(order(setBootOrder(pxe, 'vm1', { device: 'default', ...P }))).toEqual(['hd']);
    expect(setBootOrder(xml, 'vm1', { device: 'pxe', ...P }).replace(/<boot[^>]*>/g, '')).toBe(xml.replace(/<boot[^>]*>/g, '')); // nothing else changes
  });

  it('an <os> in metadata, a comment or CDATA is not the domain\'s', () => {
    const meta = "  <metadata><app:x xmlns:app='urn:x'><os><boot dev='network'/></os></app:x></metadata>\n  <!-- <os><boot dev='fd'/></os> -->\n  <description><![CDATA[<os><boot dev='cdrom'/></os>]]></description>\n";
    const xml = dom("    <boot dev='hd'/>\n", meta);
    expect(readBootOrder(xml, 'vm1').device).toBe('disk');
    const out = setBootOrder(xml, 'vm1', { device: 'cdrom', ...P });
    expect(out).toContain(meta);
    expect(readBootOrder(out, 'vm1').device).toBe('cdrom');
  });

  it('reads EFI from the firmware, refuses once, efi, bios and per-device boot order', () => {
    expect(readBootOrder(dom('', '').replace('<os>', "<os firmware='efi'>"), 'vm1')).toEqual({ device: 'default', persistent: true, efi: true });
    const xml = dom("    <boot dev='hd'/>\n");
    expect(() => setBootOrder(xml, 'vm1', { device: 'pxe', persistent: false, efi: false })).toThrow(/add :persistent/);
    expect(() => setBootOrder(xml, 'vm1', { device: 'pxe', persistent: true, efi: true })).toThrow(/leave out :efi/);
    expect(() => setBootOrder(xml, 'vm1', { device: 'bios', ...P })).toThrow(/no boot device for bios/);
    const perDevice = dom('').replace('<devices>\n', "<devices>\n    <disk type='file'><boot order='1'/></disk>\n");
    expect(() => setBootOrder(perDevice, 'vm1', { device: 'pxe', ...P })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
    expect(readBootOrder(perDevice, 'vm1').device).toBe('unknown');
  });

  it.each([
    ['no <os>', '<domain><name>x</name></domain>'],
    ['not well formed', '<domain><os></domain></os>'],
    ['too long', `<domain>${' '.repeat(MAX_DOMAIN_XML)}<os></os></domain>`],
    ['a <boot> with content', "<domain><os><boot dev='hd'>x</boot></os></domain>"],
  ])('%s is ERR_LIBVIRT, never a guess', (_what, xml) => {
    expect(() => setBootOrder(xml, 'vm1', { device: 'pxe', ...P })).toThrow(expect.objectContaining({ code: 'ERR_LIBVIRT' }));
  });
});
