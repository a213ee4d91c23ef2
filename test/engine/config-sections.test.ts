/**
 * One schema per vacm.yaml section (src/protocol/config-schema.ts, gathered in
 * src/cli/config-sections.ts): every accepted section has one, a typo in any of them is ERR_CONFIG
 * naming file, line and key when the file is read, and the keys the issues document for the
 * sections being built now are accepted.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, SECTION_KEYS } from '../../src/engine/config.js';
import { CONFIG_SECTIONS } from '../../src/cli/config-sections.js';

const load = (text: string) => parseConfig(text, 'vacm.yaml', CONFIG_SECTIONS);

describe('config sections', () => {
  it('every section the loader accepts has exactly one schema', () => {
    const names = CONFIG_SECTIONS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...SECTION_KEYS].sort());
  });

  it.each([
    ['ping:\n  intervall_ms: 5\n', /^vacm\.yaml:2: ping\.intervall_ms: unknown key; ping takes enabled, interval_ms/],
    ['sysstat:\n  interval_ms: 5\n', /^vacm\.yaml:2: sysstat\.interval_ms: must be a whole number of milliseconds from 200/],
    ['ssh:\n  prot: 22\n', /^vacm\.yaml:2: ssh\.prot: unknown key; ssh takes/],
    ['power:\n  drivers:\n    ipmi:\n      timeout: 5\n', /^vacm\.yaml:4: power\.drivers\.ipmi\.timeout: unknown key; a driver takes timeout_ms/],
    ['collector:\n  secret_file: /x\n  mis: 3\n', /^vacm\.yaml:3: collector\.mis: unknown key/],
    ['metrics:\n  listen: "a:b:c:99999"\n', /^vacm\.yaml:2: metrics\.listen: .*is not ADDR:PORT/],
    ['agent:\n  colector: x\n', /^vacm\.yaml:2: agent\.colector: unknown key; agent takes collector, secret_file, interval, name/],
    ['sensors:\n  interval: 60\n', /^vacm\.yaml:2: sensors\.interval: unknown key; sensors takes enabled, interval_ms, timeout_ms, sel/],
    ['serve:\n  idle: 5\n', /^vacm\.yaml:2: serve\.idle: unknown key; serve takes listen, socket, users, idle_s/],
    ['serve:\n  users:\n    - name: alice\n      role: root\n', /^vacm\.yaml:4: serve\.users\.0\.role: must be viewer, operator or admin, not "root"/],
    ['console:\n  log: yes please\n', /^vacm\.yaml:2: console\.log: must be true or false/],
    ['actions:\n  - key: r\n    name: restart\n    requst: x\n', /^vacm\.yaml:4: actions\.0\.requst: unknown key( "requst")?; an action takes key, name, request, confirm, role/],
    ['ui:\n  theme: dark\n', /^vacm\.yaml:2: ui\.theme: unknown key/],
    ['demo:\n  nodes: 5\n', /^vacm\.yaml:2: demo\.nodes: unknown key/],
    ['output:\n  max_job_byte: 5000\n', /^vacm\.yaml:2: output\.max_job_byte: unknown key; output takes max_job_bytes/],
    ['history:\n  step: 5\n', /^vacm\.yaml:2: history\.step: unknown key; history takes step_s/],
    ['membership:\n  max_hooks: 5\n', /^vacm\.yaml:2: membership\.max_hooks: unknown key/],
    ['hooks:\n  - command: x\n    on: [sideways]\n', /^vacm\.yaml:3: hooks\.0\.on: must be a list of states: up, down, off, unknown/],
    ['exec:\n  safe: [3]\n', /^vacm\.yaml:2: exec\.safe\.0: each entry is a command pattern/],
  ])('a typo in %j names file, line and key', (text, message) => {
    expect(() => load(text)).toThrow(message);
    try {
      load(text);
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_CONFIG');
    }
  });

  it('accepts the keys documented for sections being built now', () => {
    const c = load(
      [
        'sensors: { interval_ms: 60000 }',
        'serve:',
        '  listen: 127.0.0.1:2222',
        '  socket: /run/vacm.sock',
        '  idle_s: 3600',
        '  client_alive_s: 30',
        '  users:',
        '    - { name: alice, role: admin, keys: ["ssh-ed25519 AAAA alice"], from: [10.0.0.0/8] }',
        '    - { name: bob, role: viewer, keys_file: /etc/vacm/bob.pub }',
        'console: { log: true, max_bytes: 16777216 }',
        'exec: { allow: ["*"], safe: ["uname -r", "uptime"] }',
        'actions:',
        '  - { key: R, name: restart slurmd, request: "SSH:EXEC:{nodes}:systemctl restart slurmd", confirm: true, role: operator }',
        'ui: {}',
        '',
      ].join('\n'),
    );
    expect(Object.keys(c.view.sections).sort()).toEqual(['actions', 'console', 'sensors', 'serve', 'ui']);
  });
});
