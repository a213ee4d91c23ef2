/**
 * An action without a handler must not compile: these tables are checked by `tsc --noEmit -p .`
 * (test/ is in tsconfig's include), where each `@ts-expect-error` fails the build if the line under
 * it ever compiles.
 */
import { describe, it, expect } from 'vitest';
import type { PaneHandlers } from '../../src/ui/pane-actions.js';
import { DIALOG_KEYMAPS, KEYMAPS, POWER_COMMANDS, type DialogActionOf, type PowerAction } from '../../src/ui/keymaps.js';

describe('keymaps and their handlers', () => {
  it('every pane, dialog and power-menu action needs its handler (a missing one is a type error)', () => {
    const noop = () => undefined;
    // @ts-expect-error: every other pane action is missing
    const pane: PaneHandlers = { quit: noop };
    // @ts-expect-error: the confirmation's 'no' is missing
    const confirm: Record<DialogActionOf<'confirm'>, () => void> = { yes: noop };
    // @ts-expect-error: a power action without its POWER command
    const power: Record<PowerAction, string> = { powerOn: 'ON' };
    expect([pane, confirm, power].every((x) => Object.keys(x).length === 1)).toBe(true);
  });

  it('the power menu sends one POWER command per binding, and each dialog keymap binds each of its keys once', () => {
    expect(KEYMAPS.powerMenu.map((b) => POWER_COMMANDS[b.action])).toEqual(['ON', 'OFF', 'CYCLE', 'RESET', 'SOFT', 'STATUS', 'BOOT', 'BOOTDEV', 'IDENTIFY']);
    for (const [name, map] of Object.entries(DIALOG_KEYMAPS)) {
      const keys = map.flatMap((b) => b.keys);
      expect(new Set(keys).size, name).toBe(keys.length);
    }
  });
});
