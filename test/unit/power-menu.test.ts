/** The power menu's model (pure): boot, next boot device and identify offered by driver, the sub-choice keys, the confirmation words. */
import { describe, expect, it } from 'vitest';
import { activeKeymaps } from '../../src/ui/keymaps.js';
import { describeRequest, powerOffers, requestWarnings, subChoiceKey, subChoiceLines, type PowerSubChoice } from '../../src/ui/power-menu.js';
import { POWER_DRIVER_ACTIONS, type PowerDriverName } from '../../src/protocol/power.js';
import type { PowerFacts } from '../../src/ui/ui-engine.js';

const fact = (name: string, driver?: PowerDriverName): PowerFacts => ({ name, driver, actions: driver ? POWER_DRIVER_ACTIONS[driver] : [] });
const FACTS = [fact('bmc1', 'ipmi'), fact('bmc2', 'ipmi'), fact('pdu1', 'powerman'), fact('vm1', 'libvirt'), fact('ssh1', 'ssh'), fact('none1')];
const byAction = (facts: readonly PowerFacts[]) => Object.fromEntries(powerOffers(activeKeymaps(false), facts).map((o) => [o.action, { targets: o.targets.join(','), disabled: o.disabledReason }]));

describe('the power menu offers boot, next boot device and identify only where the driver can', () => {
  it('counts each entry per marked node by its driver', () => {
    const o = byAction(FACTS);
    expect(o.boot).toEqual({ targets: 'bmc1,bmc2,pdu1,vm1', disabled: undefined }); // ssh has no ON
    expect(o.bootdev).toEqual({ targets: 'bmc1,bmc2,vm1', disabled: undefined });
    expect(o.identify).toEqual({ targets: 'bmc1,bmc2,pdu1', disabled: undefined });
    expect(o.on.targets).toBe('bmc1,bmc2,pdu1,vm1');
  });

  it('greys them with the reason where no marked node can', () => {
    const o = byAction([fact('ssh1', 'ssh'), fact('s1', 'sim'), fact('none1')]);
    expect(o.bootdev.disabled).toBe('not possible with power: ssh, power: sim, no power driver');
    expect(o.identify.disabled).toBe('not possible with power: ssh, power: sim, no power driver');
    expect(o.boot).toEqual({ targets: 's1', disabled: undefined }); // sim can boot
    expect(byAction([fact('pdu1', 'powerman')]).bootdev.disabled).toBe('not possible with power: powerman');
  });

  it('read-only keeps identify and status (they change nothing that matters) and drops boot and bootdev', () => {
    expect(activeKeymaps(true).powerMenu.map((b) => b.action)).toEqual(['powerStatus', 'powerIdentify']);
  });
});

describe('the sub-choice of BOOTDEV and IDENTIFY', () => {
  const offers = powerOffers(activeKeymaps(false), FACTS);
  const sub = (action: string): PowerSubChoice => ({ offer: offers.find((o) => o.action === action)!, persistent: false, seconds: '' });

  it('BOOTDEV: a device key sends it for the nodes that can, t makes it persistent', () => {
    const s = sub('bootdev');
    expect(subChoiceKey(s, 'p')).toEqual({ kind: 'send', line: 'POWER:BOOTDEV:bmc[1-2],vm1:pxe' });
    const t = subChoiceKey(s, 't');
    expect(t).toEqual({ kind: 'update', sub: { ...s, persistent: true } });
    expect(subChoiceKey((t as { sub: PowerSubChoice }).sub, 'd')).toEqual({ kind: 'send', line: 'POWER:BOOTDEV:bmc[1-2],vm1:disk:persistent' });
    expect(subChoiceKey(s, '0')).toEqual({ kind: 'send', line: 'POWER:BOOTDEV:bmc[1-2],vm1:default' });
    expect(subChoiceKey(s, 'x')).toEqual({ kind: 'none' });
    expect(subChoiceKey(s, 'escape')).toEqual({ kind: 'back' });
    const l = subChoiceLines(s, 6);
    expect(l.title).toBe('NEXT BOOT DEVICE · 3 of 6');
    expect(l.lines).toContain('t  once (next boot only) — t switches');
    expect(l.lines).toContain('left out, their driver cannot bootdev: pdu1 (power: powerman), ssh1 (power: ssh), none1 (no power driver)');
  });

  it('IDENTIFY: on, off, or typed seconds and Enter (1-255)', () => {
    const s = sub('identify');
    expect(subChoiceKey(s, 'o')).toEqual({ kind: 'send', line: 'POWER:IDENTIFY:bmc[1-2],pdu1:on' });
    expect(subChoiceKey(s, 'f')).toEqual({ kind: 'send', line: 'POWER:IDENTIFY:bmc[1-2],pdu1:off' });
    let cur = s;
    for (const k of ['3', '0']) cur = (subChoiceKey(cur, k) as { sub: PowerSubChoice }).sub;
    expect(subChoiceLines(cur, 6).lines).toContain('for 30 s — Enter sends');
    expect(subChoiceKey(cur, 'return')).toEqual({ kind: 'send', line: 'POWER:IDENTIFY:bmc[1-2],pdu1:30' });
    expect(subChoiceKey({ ...s, seconds: '300' }, 'return')).toEqual({ kind: 'error', message: 'identify for 1 to 255 seconds; type the number, then Enter' });
    expect(subChoiceKey({ ...s, seconds: '255' }, '1')).toEqual({ kind: 'none' }); // three digits at most
    expect(subChoiceKey({ ...s, seconds: '25' }, 'backspace')).toEqual({ kind: 'update', sub: { ...s, seconds: '2' } });
  });
});

describe('confirmations of BOOT and BOOTDEV', () => {
  const req = (command: string, names: string[], args: Record<string, string> = {}) => ({ tag: 'POWER', command, label: `POWER:${command}`, names, folded: names.join(','), args });

  it('say what they do', () => {
    expect(describeRequest(req('BOOTDEV', ['bmc1'], { device: 'pxe' }))).toBe('Set the next boot device of 1 node: bmc1 to pxe (next boot only)');
    expect(describeRequest(req('BOOTDEV', ['bmc1', 'vm1'], { device: 'disk', opt1: 'persistent' }))).toBe('Set the next boot device of 2 nodes: bmc1,vm1 to disk (persistent)');
    expect(describeRequest(req('BOOT', ['bmc1']))).toBe('Boot (on if off, else hard-reset) 1 node: bmc1');
    expect(describeRequest(req('IDENTIFY', ['bmc1'], { mode: '15' }))).toBe('Identify 1 node: bmc1: for 15 s');
  });

  it('BOOT is refused on a guarded node without FORCE (it may reset), BOOTDEV is not; a driver that cannot is named', () => {
    const facts: PowerFacts[] = [{ ...fact('head', 'ipmi'), guard: 'local' }, fact('ssh1', 'ssh')];
    const text = (lines: ReturnType<typeof requestWarnings>) => lines.map((l) => (typeof l === 'string' ? l : l.map((s) => s.text).join('')));
    expect(text(requestWarnings(req('BOOT', ['head', 'ssh1']), new Map(), facts))).toEqual([
      '✖ refused without FORCE: head (the machine vacm runs on)',
      '✖ will fail, the driver cannot boot: ssh1 (power: ssh)',
    ]);
    expect(text(requestWarnings(req('BOOTDEV', ['head'], { device: 'pxe' }), new Map(), [facts[0]!]))).toEqual([]);
  });
});
