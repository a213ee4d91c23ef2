/**
 * Hostile config files and command-line numbers (issue 10, item 12): Object.prototype's names as
 * group or variable names, a YAML alias bomb, exec.allow entries with shell syntax, and numeric
 * options that are not numbers or are absurd. Each is a clear ERR_CONFIG (file and line) or
 * ERR_USAGE (exit 2), never a TypeError from inside.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/engine/config.js';
import { makeEngine, tempDir } from '../helpers/engine.js';
import { vacm } from '../helpers/cli.js';

function configError(text: string): string {
  try {
    parseConfig(text, 'hostile.yaml');
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
  return 'accepted';
}

describe('config: reserved names and alias bombs', () => {
  it.each([
    ['nodes:\n  - names: n1\n    groups: [__proto__]\n', /^ERR_CONFIG: hostile\.yaml:3: nodes\.0\.groups: "__proto__" is reserved/],
    ['nodes:\n  - names: n1\n    groups: [ok, constructor]\n', /^ERR_CONFIG: hostile\.yaml:3: nodes\.0\.groups: "constructor" is reserved/],
    ['nodes:\n  - names: n1\n    groups: prototype\n', /^ERR_CONFIG: hostile\.yaml:3: nodes\.0\.groups: "prototype" is reserved/],
    ['nodes:\n  - names: n1\ngroups:\n  __proto__: n1\n', /^ERR_CONFIG: hostile\.yaml:4: groups\.__proto__: "__proto__" is reserved/],
    ['nodes:\n  - names: n1\ngroups:\n  constructor: n1\n', /^ERR_CONFIG: hostile\.yaml:4: groups\.constructor: "constructor" is reserved/],
    ['nodes:\n  - names: n1\ngroups:\n  "a b": n1\n', /^ERR_CONFIG: hostile\.yaml:4: groups\.a b: group names are letters/],
    ['nodes:\n  - names: n1\n    vars:\n      __proto__: x\n', /^ERR_CONFIG: hostile\.yaml:4: nodes\.0\.vars\.__proto__: "__proto__" is reserved/],
    ['nodes:\n  - names: n1\n    vars: { constructor: x }\n', /^ERR_CONFIG: hostile\.yaml:3: nodes\.0\.vars\.constructor: "constructor" is reserved/],
    ['nodes:\n  - names: n1\n    vars: { prototype: x }\n', /^ERR_CONFIG: hostile\.yaml:3: nodes\.0\.vars\.prototype: "prototype" is reserved/],
    ['nodes:\n  - names: n1\ngroups:\n  g: "@constructor"\n', /^ERR_CONFIG: hostile\.yaml:4: groups\.g: .*constructor/],
    ['__proto__: {}\n', /^ERR_CONFIG: hostile\.yaml:1: __proto__: unknown key/],
  ])('%j is refused with file and line', (text, re) => {
    expect(configError(text)).toMatch(re);
  });

  it('a YAML alias bomb is ERR_CONFIG with the file and the line of the first alias', () => {
    const bomb = [
      'cluster: x',
      'exec:',
      '  allow: &a ["a", "a", "a", "a", "a", "a", "a", "a", "a", "a"]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      '',
    ].join('\n');
    expect(configError(bomb)).toMatch(/^ERR_CONFIG: hostile\.yaml:4: YAML aliases expand too far .*at most 100 alias uses/);
    // a few aliases are fine
    expect(configError('nodes:\n  - names: n1\n    groups: &g [a]\n  - names: n2\n    groups: *g\n')).toBe('accepted');
  });

  it('group and variable maps have no prototype: Object\'s names are not found in them', () => {
    const c = parseConfig('nodes:\n  - names: n[1-2]\n    groups: [g]\n    vars: { host: h }\n');
    expect(c.view.groups.constructor).toBeUndefined();
    expect(c.view.groups.toString).toBeUndefined();
    expect(c.nodes[0].vars.constructor).toBeUndefined();
    expect(c.view.sections.hasOwnProperty).toBeUndefined();
    expect(c.view.groups.g).toEqual(['n1', 'n2']);
  });

  it.each([
    ['exec:\n  allow: ["uptime", "ls *; reboot"]\n', /^ERR_CONFIG: hostile\.yaml:2: exec\.allow\.1: "ls \*; reboot" has an unquoted ";" .*write \{shell: "<the exact command>"\}/],
    ['exec:\n  allow:\n    - uptime\n    - "dmesg | tail"\n', /^ERR_CONFIG: hostile\.yaml:4: exec\.allow\.1: "dmesg \| tail" has an unquoted "\|"/],
    ['exec:\n  allow: [{shell: ""}]\n', /^ERR_CONFIG: hostile\.yaml:2: exec\.allow\.0: shell: needs the exact command text/],
    ['exec:\n  allow: [{shell: "a", x: 1}]\n', /^ERR_CONFIG: hostile\.yaml:2: exec\.allow\.0: each entry is a command pattern/],
    ['exec:\n  allow: [[ls]]\n', /^ERR_CONFIG: hostile\.yaml:2: exec\.allow\.0: each entry is a command pattern/],
    ['exec:\n  allow: [""]\n', /^ERR_CONFIG: hostile\.yaml:2: exec\.allow\.0: an empty pattern allows nothing/],
  ])('exec.allow %j is refused with file and line', (text, re) => {
    expect(configError(text)).toMatch(re);
  });

  it('exec.allow takes word patterns, * and {shell:} entries', () => {
    const c = parseConfig('exec:\n  allow: ["*", "systemctl status *", {shell: "dmesg | tail -5"}]\n');
    expect(c.view.exec.allow).toEqual(['*', 'systemctl status *', { shell: 'dmesg | tail -5' }]);
  });
});

describe('the engine: Object\'s names are unknown groups', () => {
  it.each(['@constructor', '@__proto__', '@toString', '@hasOwnProperty'])('NEXXUS:NODE_LIST:%s is ERR_NODESET_PARSE', async (g) => {
    const { engine, stateDir } = await makeEngine();
    try {
      expect(() => engine.submit(`NEXXUS:NODE_LIST:${g}`)).toThrow(/unknown group/);
      const err = (() => {
        try {
          engine.submit(`NEXXUS:NODE_LIST:${g}`);
        } catch (e) {
          return (e as { code?: string }).code;
        }
      })();
      expect(err).toBe('ERR_NODESET_PARSE');
      expect((await engine.submit('NEXXUS:NODE_LIST:@compute').done).ok).toBe(8); // and it keeps serving
    } finally {
      await engine.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('numbers from the command line', () => {
  const state = tempDir('vacm-hostile-cli-');
  afterAll(() => fs.rmSync(state, { recursive: true, force: true }));
  const env = { VACM_STATE_DIR: state, VACM_CONFIG: '', HOME: state };

  it.each([
    [['ipc', '--demo', '--nodes', 'xyz', 'NEXXUS:GROUPS'], /^ERR_USAGE: --nodes is not a number: give a whole number from 1 to 100000\n$/],
    [['ipc', '--demo', '--nodes', '1e12', 'NEXXUS:GROUPS'], /^ERR_USAGE: --nodes 1000000000000 is out of range: give a whole number from 1 to 100000\n$/],
    [['ipc', '--demo', '--nodes', '2.5', 'NEXXUS:GROUPS'], /^ERR_USAGE: --nodes 2\.5 is not a whole number/],
    [['ipc', '--demo', '--nodes', '0', 'NEXXUS:GROUPS'], /^ERR_USAGE: --nodes 0 is out of range/],
    [['ipc', '--demo', '--nodes', '-3', 'NEXXUS:GROUPS'], /^ERR_USAGE: --nodes -3 is out of range/],
    [['--demo', '--nodes', 'xyz'], /^ERR_USAGE: --nodes is not a number/],
    [['ipc', '--nodes', '1e12', 'NEXXUS:MODULES'], /^ERR_USAGE: --nodes 1000000000000 is out of range/], // without --demo too
    [['serve', '--snapshot-every', 'abc'], /^ERR_USAGE: --snapshot-every is not a number: give a whole number from 1 to 86400/],
    [['serve', '--snapshot-every', '1e10'], /^ERR_USAGE: --snapshot-every 10000000000 is out of range/],
    [['snapshot', '--html', path.join(state, 'x.html'), '--max-age', 'soon'], /^ERR_USAGE: --max-age is not a number/],
    [['agent', '--secret-file', 'SECRET', '--interval', 'abc'], /^ERR_USAGE: --interval .*seconds from 0\.1 to 3600/],
  ])('vacm %j exits 2 with a clear ERR_USAGE', async (args, re) => {
    const secret = path.join(state, 'agent.secret');
    fs.writeFileSync(secret, 'a-secret-of-more-than-16-bytes\n', { mode: 0o600 });
    const r = await vacm(args.map((a) => (a === 'SECRET' ? secret : a)), { env });
    expect(r.err).toMatch(re);
    expect(r.code).toBe(2);
  });

  it('a good --nodes still works', async () => {
    const r = await vacm(['ipc', '--demo', '--nodes', '3', 'NEXXUS:NODE_LIST:@demo'], { env });
    expect(r.out).toContain('NODELIST:sim001');
    expect(r.out).toContain('NODELIST:sim003');
    expect(r.out).not.toContain('sim004');
    expect(r.code).toBe(0);
  });
});
