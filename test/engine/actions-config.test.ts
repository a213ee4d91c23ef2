/** actions: in vacm.yaml (issue 15 item 5): parsed with file and line; a template that does not parse is ERR_CONFIG. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config.js';
import { expandAction, templateProblem } from '../../src/protocol/actions.js';

const YAML = (actions: string) => `cluster: a
nodes:
  - names: n[1-4]
actions:
${actions}
`;

describe('actions: in vacm.yaml', () => {
  it('are parsed with their key, name, request, confirm and role, and where they are', () => {
    const c = parseConfig(YAML('  - { key: R, name: restart slurmd, request: "SSH:EXEC:{nodes}:systemctl restart slurmd", role: operator }\n  - { key: ctrl+t, name: status, request: "POWER:STATUS:{node}", confirm: true }'), 'v.yaml');
    expect(c.view.actions).toEqual([
      { key: 'R', name: 'restart slurmd', request: 'SSH:EXEC:{nodes}:systemctl restart slurmd', confirm: false, role: 'operator', source: 'v.yaml:5: actions.0' },
      { key: 'ctrl+t', name: 'status', request: 'POWER:STATUS:{node}', confirm: true, role: undefined, source: 'v.yaml:6: actions.1' },
    ]);
  });

  it.each([
    ['  - { key: R, name: x, request: "SSH EXEC {nodes}" }', /v\.yaml:5: actions\.0\.request: the template is not an IPC request/],
    ['  - { key: R, name: x, request: "SSH:EXEC:{nodes}:{cmd}" }', /v\.yaml:5: actions\.0\.request: the template unknown placeholder \{cmd\}/],
    ['  - { key: R, name: x, request: "SSH:EXEC:{nodes:x" }', /unbalanced/],
    ['  - { key: RR, name: x, request: "NEXXUS:JOBS" }', /v\.yaml:5: actions\.0\.key: must be one key/],
    ['  - { key: R, name: x, request: "NEXXUS:JOBS", confirm: yes please }', /actions\.0\.confirm: must be true or false/],
    ['  - { key: R, name: x, request: "NEXXUS:JOBS", run: now }', /actions\.0\.run: unknown key "run"/],
    ['  - { key: R, name: x, request: "NEXXUS:JOBS" }\n  - { key: R, name: y, request: "NEXXUS:JOBS" }', /v\.yaml:6: actions\.1\.key: key R is already used/],
    ['  - { key: R, name: "a\\u001b[2Jb", request: "NEXXUS:JOBS" }', /actions\.0\.name: .*no control characters/],
    ['  just a string', /v\.yaml:5: actions: must be a list/],
  ])('%s is refused', (yaml, re) => {
    expect(() => parseConfig(YAML(yaml), 'v.yaml')).toThrow(re);
  });

  it('templates expand {nodes} and {node} and nothing else', () => {
    expect(expandAction('SSH:EXEC:{nodes}:echo {node}', { nodes: 'n[1-2]', node: 'n1' })).toBe('SSH:EXEC:n[1-2]:echo n1');
    expect(templateProblem('NEXXUS:JOBS')).toBeUndefined();
    expect(templateProblem('SSH:EXEC:{nodes}:a\nb')).toMatch(/control character/);
  });
});
