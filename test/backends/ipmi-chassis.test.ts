/** Chassis Identify and boot flags, pure: request bytes, answers, argument words. */
import { describe, expect, it } from 'vitest';
import { VacmError } from '../../src/protocol/errors.js';
import * as C from '../../src/backends/ipmi/chassis.js';
import * as P from '../../src/protocol/power.js';

describe('identify', () => {
  it('maps on, off and seconds onto interval and force bytes', () => {
    expect([...C.chassisIdentifyRequest(1, P.parseIdentify('on')).data!]).toEqual([0, 1]);
    expect([...C.chassisIdentifyRequest(1, P.parseIdentify('OFF')).data!]).toEqual([0, 0]);
    expect([...C.chassisIdentifyRequest(1, P.parseIdentify('15')).data!]).toEqual([15, 0]);
    expect(P.identifyText(P.parseIdentify('255'))).toBe('255s');
    for (const w of ['0', '256', 'blink', '', undefined]) expect(() => P.parseIdentify(w)).toThrow(VacmError);
  });
});

describe('boot device', () => {
  it('sets valid, persistent and EFI bits and the device selector', () => {
    expect([...C.setBootDeviceRequest(1, P.parseBootDevice(['pxe'])).data!]).toEqual([5, 0x80, 0x04, 0, 0, 0]);
    expect([...C.setBootDeviceRequest(1, P.parseBootDevice(['cdrom', 'persistent', 'efi'])).data!]).toEqual([5, 0xe0, 0x14, 0, 0, 0]);
    expect([...C.setBootDeviceRequest(1, P.parseBootDevice(['BIOS', 'efi'])).data!]).toEqual([5, 0xa0, 0x18, 0, 0, 0]);
    expect([...C.setBootDeviceRequest(1, P.parseBootDevice(['default'])).data!]).toEqual([5, 0x80, 0x00, 0, 0, 0]);
    for (const words of [['usb'], ['pxe', 'efi', 'efi'], ['pxe', 'sometimes'], []]) expect(() => P.parseBootDevice(words)).toThrow(/boot device|persistent and efi/);
  });

  it('reads the flags back and refuses answers for another parameter or too short', () => {
    expect(C.decodeBootFlags(Buffer.from([0x01, 0x05, 0x00, 0x04, 0, 0, 0]))).toEqual({ device: 'pxe', persistent: false, efi: false });
    expect(C.decodeBootFlags(Buffer.from([0x01, 0x05, 0xe0, 0x14, 0, 0, 0]))).toEqual({ device: 'cdrom', persistent: true, efi: true });
    expect(C.decodeBootFlags(Buffer.from([0x01, 0x05, 0x80, 0x1c, 0, 0, 0])).device).toBe('unknown');
    expect(() => C.decodeBootFlags(Buffer.from([0x01, 0x03, 0, 0]))).toThrow(VacmError);
    expect(() => C.decodeBootFlags(Buffer.from([0x01]))).toThrow(VacmError);
  });
});
