/**
 * Chassis Identify and the boot device (Set/Get System Boot Options, parameter 5), pure: the
 * requests and the answers (IPMI v2.0 28.5, 28.12, 28.13); the argument words are in
 * src/protocol/power.ts.
 */
import { VacmError } from '../../protocol/errors.js';
import type { BootDevice, BootFlags, IdentifyMode } from '../../protocol/power.js';
import { NETFN_CHASSIS, type IpmiRequest } from './protocol.js';

export const CMD_CHASSIS_IDENTIFY = 0x04;
export const CMD_SET_SYSTEM_BOOT_OPTIONS = 0x08;
export const CMD_GET_SYSTEM_BOOT_OPTIONS = 0x09;
const BOOT_FLAGS = 0x05;

/** Chassis Identify: interval in seconds, then "force on" (on until turned off). */
export function chassisIdentifyRequest(rqSeq: number, m: IdentifyMode): IpmiRequest {
  const data = m.kind === 'on' ? [0, 1] : m.kind === 'off' ? [0, 0] : [m.seconds, 0];
  return { netFn: NETFN_CHASSIS, cmd: CMD_CHASSIS_IDENTIFY, rqSeq, data: Buffer.from(data) };
}

/** IPMI's boot device selectors (Get/Set System Boot Options, parameter 5, data 2 bits 5:2). */
export const BOOT_DEVICES: Readonly<Record<BootDevice, number>> = { default: 0x0, pxe: 0x1, disk: 0x2, safe: 0x3, diag: 0x4, cdrom: 0x5, bios: 0x6, floppy: 0xf };

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
