/**
 * Chassis Identify and the boot device (Set/Get System Boot Options, parameter 5), pure: the
 * requests, the answers and the argument words (IPMI v2.0 28.5, 28.12, 28.13).
 */
import { VacmError } from '../../protocol/errors.js';
import { NETFN_CHASSIS, type IpmiRequest } from './protocol.js';

export const CMD_CHASSIS_IDENTIFY = 0x04;
export const CMD_SET_SYSTEM_BOOT_OPTIONS = 0x08;
export const CMD_GET_SYSTEM_BOOT_OPTIONS = 0x09;
const BOOT_FLAGS = 0x05;

/** `on` (until turned off), `off`, or a number of seconds (1-255). */
export type IdentifyMode = { kind: 'on' } | { kind: 'off' } | { kind: 'seconds'; seconds: number };

export function parseIdentify(word: string | undefined): IdentifyMode {
  const w = (word ?? '').trim().toLowerCase();
  if (w === 'on') return { kind: 'on' };
  if (w === 'off') return { kind: 'off' };
  if (/^\d{1,3}$/.test(w) && Number(w) >= 1 && Number(w) <= 255) return { kind: 'seconds', seconds: Number(w) };
  throw new VacmError('ERR_BAD_ARGS', `identify takes on, off or a number of seconds from 1 to 255, not '${(word ?? '').slice(0, 20)}'`);
}

export function identifyText(m: IdentifyMode): string {
  return m.kind === 'seconds' ? `${m.seconds}s` : m.kind;
}

/** Chassis Identify: interval in seconds, then "force on" (on until turned off). */
export function chassisIdentifyRequest(rqSeq: number, m: IdentifyMode): IpmiRequest {
  const data = m.kind === 'on' ? [0, 1] : m.kind === 'off' ? [0, 0] : [m.seconds, 0];
  return { netFn: NETFN_CHASSIS, cmd: CMD_CHASSIS_IDENTIFY, rqSeq, data: Buffer.from(data) };
}

export const BOOT_DEVICES = { default: 0x0, pxe: 0x1, disk: 0x2, safe: 0x3, diag: 0x4, cdrom: 0x5, bios: 0x6, floppy: 0xf } as const;
export type BootDevice = keyof typeof BOOT_DEVICES;
const SETTABLE: readonly BootDevice[] = ['pxe', 'disk', 'cdrom', 'bios', 'default'];

export interface BootFlags {
  device: BootDevice | 'unknown';
  persistent: boolean;
  efi: boolean;
}

/** `pxe` then any of `persistent`, `efi` (each at most once). */
export function parseBootDevice(words: readonly (string | undefined)[]): BootFlags {
  const [dev, ...opts] = words.map((w) => (w ?? '').trim().toLowerCase());
  if (!(SETTABLE as readonly string[]).includes(dev ?? '')) throw new VacmError('ERR_BAD_ARGS', `the boot device is '${(dev ?? '').slice(0, 20)}'; use one of ${SETTABLE.join(', ')}`);
  const flags: BootFlags = { device: dev as BootDevice, persistent: false, efi: false };
  for (const o of opts.filter((w) => w !== '')) {
    if (o === 'persistent' && !flags.persistent) flags.persistent = true;
    else if (o === 'efi' && !flags.efi) flags.efi = true;
    else throw new VacmError('ERR_BAD_ARGS', `after the boot device come persistent and efi, each at most once; not '${o.slice(0, 20)}'`);
  }
  return flags;
}

/** Set System Boot Options, boot flags: valid, persistent or next boot only, EFI or legacy, device. */
export function setBootDeviceRequest(rqSeq: number, f: BootFlags): IpmiRequest {
  const dev = f.device === 'unknown' ? 0 : BOOT_DEVICES[f.device];
  const b1 = 0x80 | (f.persistent ? 0x40 : 0) | (f.efi ? 0x20 : 0);
  return { netFn: NETFN_CHASSIS, cmd: CMD_SET_SYSTEM_BOOT_OPTIONS, rqSeq, data: Buffer.from([BOOT_FLAGS, b1, dev << 2, 0, 0, 0]) };
}

export function getBootDeviceRequest(rqSeq: number): IpmiRequest {
  return { netFn: NETFN_CHASSIS, cmd: CMD_GET_SYSTEM_BOOT_OPTIONS, rqSeq, data: Buffer.from([BOOT_FLAGS, 0, 0]) };
}

/** Get System Boot Options answer for parameter 5: version, parameter, then the five data bytes. */
export function decodeBootFlags(data: Uint8Array): BootFlags {
  if (data.length < 4 || (data[1]! & 0x7f) !== BOOT_FLAGS) {
    throw new VacmError('ERR_IPMI', `malformed IPMI answer: Get System Boot Options gave ${data.length} bytes for parameter ${data.length > 1 ? data[1]! & 0x7f : '?'}, expected parameter 5`);
  }
  const b1 = data[2]!;
  const code = (data[3]! >> 2) & 0x0f;
  const found = (Object.entries(BOOT_DEVICES) as [BootDevice, number][]).find(([, v]) => v === code);
  return { device: found ? found[0] : 'unknown', persistent: (b1 & 0x40) !== 0, efi: (b1 & 0x20) !== 0 };
}
