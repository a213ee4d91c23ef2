/**
 * The boot order of a libvirt domain, pure: read and rewrite the `<boot dev='…'/>` elements of the
 * domain XML's own `<os>` (the child of `<domain>`, found by a small tag scanner, so an `<os>` inside
 * `<metadata>` or a comment is never the one changed). POWER:BOOTDEV puts the asked device first and
 * keeps the others after it; `default` is libvirt's own default, the disk alone.
 */
import { VacmError } from '../../../protocol/errors.js';
import type { BootDevice, BootFlags } from '../../../protocol/power.js';

/** vacm's device words and libvirt's `<boot dev>` values. */
const TO_LIBVIRT: Partial<Record<BootDevice, string>> = { pxe: 'network', disk: 'hd', cdrom: 'cdrom', floppy: 'fd' };
const FROM_LIBVIRT: Readonly<Record<string, BootDevice>> = { network: 'pxe', hd: 'disk', cdrom: 'cdrom', fd: 'floppy' };

/** The largest domain XML read (a real one is a few KiB). */
export const MAX_DOMAIN_XML = 1 << 20;

interface Tag {
  name: string;
  close: boolean;
  selfClose: boolean;
  start: number;
  end: number;
  attrs: string;
}

const TOKEN = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;

function tags(xml: string): Tag[] {
  const out: Tag[] = [];
  for (const m of xml.matchAll(TOKEN)) {
    if (m[2] === undefined) continue; // comment, CDATA, processing instruction
    out.push({ name: m[2], close: m[1] === '/', selfClose: m[4] === '/', start: m.index!, end: m.index! + m[0].length, attrs: m[3] ?? '' });
  }
  return out;
}

const attr = (attrs: string, name: string) => new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs)?.slice(1).find((v) => v !== undefined);

/** Where the domain's own `<os>` is, its `<boot>` children, and whether devices carry their own boot order. */
function scan(xml: string, domain: string): { osOpen: Tag; osClose: Tag; boots: Tag[]; perDevice: boolean; efi: boolean } {
  if (xml.length > MAX_DOMAIN_XML) throw new VacmError('ERR_LIBVIRT', `libvirt gave ${xml.length} characters of XML for ${domain}; that is no domain description`);
  const path: string[] = [];
  let osOpen: Tag | undefined;
  let osClose: Tag | undefined;
  const boots: Tag[] = [];
  let perDevice = false;
  let efi = false;
  for (const t of tags(xml)) {
    if (t.close) {
      if (path.at(-1) !== t.name) throw new VacmError('ERR_LIBVIRT', `libvirt's XML for ${domain} is not well formed (</${t.name.slice(0, 40)}> closes nothing)`);
      path.pop();
      if (t.name === 'os' && path.length === 1 && osOpen && !osClose) osClose = t;
      continue;
    }
    const inDomain = path.length >= 1 && path[0] === 'domain';
    if (inDomain && path.length === 1 && t.name === 'os' && !osOpen) {
      osOpen = t;
      const fw = attr(t.attrs, 'firmware');
      if (fw === 'efi') efi = true;
    }
    if (inDomain && path.length === 2 && path[1] === 'os') {
      if (t.name === 'boot' && osOpen && !osClose) boots.push(t);
      if (t.name === 'loader' && attr(t.attrs, 'type') === 'pflash') efi = true;
    }
    if (inDomain && path.length >= 2 && path[1] === 'devices' && t.name === 'boot' && attr(t.attrs, 'order') !== undefined) perDevice = true;
    if (!t.selfClose) path.push(t.name);
  }
  if (!osOpen || !osClose) throw new VacmError('ERR_LIBVIRT', `libvirt's XML for ${domain} has no <os> element`);
  return { osOpen, osClose, boots, perDevice, efi };
}

/** The domain's boot device as POWER:BOOTDEV says it: the first `<boot dev>` (none: `default`); libvirt's order is always persistent. */
export function readBootOrder(xml: string, domain: string): BootFlags {
  const s = scan(xml, domain);
  const first = s.boots.map((b) => attr(b.attrs, 'dev')).find((d) => d !== undefined);
  const device: BootFlags['device'] = first === undefined ? (s.perDevice ? 'unknown' : 'default') : (FROM_LIBVIRT[first] ?? 'unknown');
  return { device, persistent: true, efi: s.efi };
}

/** The domain XML with `set.device` first in its boot order (ERR_UNSUPPORTED for what libvirt has no word for). */
export function setBootOrder(xml: string, domain: string, set: BootFlags): string {
  if (!set.persistent) throw new VacmError('ERR_UNSUPPORTED', `${domain}: libvirt keeps a boot order, not a next-boot device; add :persistent (POWER:BOOTDEV:…:${set.device}:persistent) and set it back after`);
  if (set.efi) throw new VacmError('ERR_UNSUPPORTED', `${domain}: with libvirt EFI is the domain's firmware (<os firmware='efi'>), not a boot option; leave out :efi`);
  const dev = set.device === 'default' ? 'hd' : set.device === 'unknown' ? undefined : TO_LIBVIRT[set.device];
  if (dev === undefined) throw new VacmError('ERR_UNSUPPORTED', `${domain}: libvirt has no boot device for ${set.device}; use pxe, disk, cdrom or default`);
  const s = scan(xml, domain);
  if (s.perDevice) throw new VacmError('ERR_UNSUPPORTED', `${domain} orders its boot per device (<boot order='N'/> in <devices>); vacm changes only <os><boot dev/>, so edit it with virsh edit`);
  const old = s.boots.map((b) => attr(b.attrs, 'dev')).filter((d): d is string => d !== undefined && /^[a-z]+$/.test(d));
  const order = set.device === 'default' ? ['hd'] : [dev, ...old.filter((d) => d !== dev)];
  const els = order.map((d) => `<boot dev='${d}'/>`).join('');
  // drop the old <boot/> elements (self-closing in libvirt's XML), put the new ones before </os>
  let out = '';
  let at = 0;
  for (const b of s.boots) {
    if (!b.selfClose) throw new VacmError('ERR_LIBVIRT', `libvirt's XML for ${domain} has a <boot> with content; edit it with virsh edit`);
    out += xml.slice(at, b.start);
    at = b.end;
  }
  out += xml.slice(at, s.osClose.start) + els + xml.slice(s.osClose.start);
  return out;
}
