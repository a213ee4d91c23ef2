/** Hostile commands against exec.safe: shell syntax, substitutions, control characters and odd spacing never pass as safe. */
import { describe, expect, it } from 'vitest';
import { isSafeCommand } from '../../src/backends/ssh/module.js';

const SAFE = ['uname *', 'uptime', 'cat /proc/loadavg', { shell: 'dmesg | tail -5' }];

describe('exec.safe against hostile commands', () => {
  it.each([
    'uname -r; reboot',
    'uname -r && reboot',
    'uname $(reboot)',
    'uname `reboot`',
    'uname -r | sh',
    'uname -r > /etc/passwd',
    'uname -r\nreboot',
    'uptime\u001b[2J',
    'uptime &',
    'dmesg | tail -5; reboot',
    'cat /proc/loadavg /etc/shadow',
    '',
    '   ',
  ])('%j is not safe', (cmd) => {
    expect(isSafeCommand(cmd, SAFE)).toBe(false);
  });

  it.each(['uname -r', '  uptime  ', 'uname "-a"', 'dmesg | tail -5'])('%j is safe', (cmd) => {
    expect(isSafeCommand(cmd, SAFE)).toBe(true);
  });

  it('an empty list makes nothing safe', () => {
    expect(isSafeCommand('uptime', [])).toBe(false);
  });
});
