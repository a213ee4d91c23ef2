import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandTemplate, findConfig, parseConfig, localOnlyConfig } from '../../src/engine/config.js';
import { VacmError } from '../../src/protocol/errors.js';
import { tempDir } from '../helpers/engine.js';

const DESIGN_EXAMPLE = `
cluster: lab
fanout: 64                    # concurrent node operations in the bulk lane
nodes:
  - names: node[001-064]
    groups: [compute, rack1]
    vars:
      host: 127.0.10.{n}
      ssh_port: 2222
      ssh_user: root
      power: ipmi
      bmc_host: 127.0.20.{n}
      bmc_user: admin
      bmc_password_file: /etc/vacm/bmc.pass
  - names: head01
    vars: { controller: true, power: none }
exec:
  allow: ["*"]
`;

function configError(text: string): string {
  try {
    parseConfig(text, '/etc/vacm/vacm.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(VacmError);
    expect((e as VacmError).code).toBe('ERR_CONFIG');
    return (e as Error).message;
  }
  throw new Error('expected ERR_CONFIG');
}

describe('config', () => {
  it("reads DESIGN.md's example", () => {
    const c = parseConfig(DESIGN_EXAMPLE);
    expect(c.view.cluster).toBe('lab');
    expect(c.view.fanout).toBe(64);
    expect(c.nodes).toHaveLength(65);
    expect(c.nodes[0]).toEqual({
      name: 'node001', groups: ['compute', 'rack1'],
      vars: { host: '127.0.10.1', ssh_port: '2222', ssh_user: 'root', power: 'ipmi', bmc_host: '127.0.20.1', bmc_user: 'admin', bmc_password_file: '/etc/vacm/bmc.pass' },
    });
    expect(c.nodes[63].vars.host).toBe('127.0.10.64');
    expect(c.nodes[64]).toEqual({ name: 'head01', groups: [], vars: { controller: 'true', power: 'none' } });
    expect(c.view.groups.rack1).toHaveLength(64);
    expect(c.view.exec.allow).toEqual(['*']);
  });

  it.each([
    ['{name}.ib', 'node007', 'node007.ib'],
    ['10.0.0.{n}', 'node007', '10.0.0.7'],
    ['10.0.1.{n+100}', 'node007', '10.0.1.107'],
    ['{n-1}', 'rack2-n05', '4'],
    ['plain', 'x', 'plain'],
  ])('template %s for %s is %s', (t, n, want) => {
    expect(expandTemplate(t, n)).toBe(want);
  });

  it('merges entries for the same node: groups added, later vars win', () => {
    const c = parseConfig(`nodes:\n  - names: n[1-4]\n    groups: [a]\n    vars: { power: ipmi }\n  - names: n2\n    groups: [b]\n    vars: { power: none }\n`);
    expect(c.nodes.find((n) => n.name === 'n2')).toEqual({ name: 'n2', groups: ['a', 'b'], vars: { power: 'none' } });
    expect(c.nodes).toHaveLength(4);
  });

  it('takes explicit groups as node sets', () => {
    const c = parseConfig(`nodes:\n  - names: n[1-8]\n    groups: [all]\ngroups:\n  even: n[2-8/2]\n  odd: "@all!@even"\n`);
    expect(c.view.groups.even).toEqual(['n2', 'n4', 'n6', 'n8']);
    expect(c.view.groups.odd).toEqual(['n1', 'n3', 'n5', 'n7']);
  });

  it('lists each group member once, in the order it was first added, from nodes: and groups: alike', () => {
    const c = parseConfig(
      `nodes:\n  - names: n[3-4]\n    groups: [b, a]\n  - names: n[1-4]\n    groups: [a, "7"]\n  - names: n3\n    groups: [a]\n` +
        `groups:\n  a: [n2, n1]\n  b: "n[1-4]"\n  "7": "@a"\n  c: "@b&@a"\n`,
    );
    expect(c.view.groups).toEqual({ 7: ['n3', 'n4', 'n1', 'n2'], b: ['n3', 'n4', 'n1', 'n2'], a: ['n3', 'n4', 'n1', 'n2'], c: ['n1', 'n2', 'n3', 'n4'] });
    expect(Object.keys(c.view.groups)).toEqual(['7', 'b', 'a', 'c']);
    expect(c.nodes.find((n) => n.name === 'n1')?.groups).toEqual(['a', '7', 'b', 'c']);
    // a large group is gathered without a list search per member (it took ~0.3 s at 4096 nodes)
    const big = parseConfig(`nodes:\n  - names: n[1-20000]\n    groups: [compute, rack1]\n`);
    expect(big.view.groups.compute).toHaveLength(20000);
    expect(big.view.groups.rack1[19999]).toBe('n20000');
  });

  it.each([
    ['nodes:\n  - names: node[1-\n', /vacm\.yaml:2: nodes\.0\.names: bad node set/],
    ['fanout: lots\n', /vacm\.yaml:1: fanout: must be a whole number/],
    ['cluster: a\nfanuot: 3\n', /vacm\.yaml:2: fanuot: unknown key "fanuot"/],
    ['nodes:\n  - names: a1\n    varz: {}\n', /vacm\.yaml:3: nodes\.0\.varz: unknown key/],
    ['nodes:\n  - names: abc\n    vars: { host: "10.0.0.{n}" }\n', /:3: nodes\.0\.vars\.host: \{n\} needs a number in the node name, and "abc" has none/],
    ['nodes: [1, 2]\n', /nodes\.0: each entry must be a mapping/],
    ['exec:\n  allow: uptime\n', /:2: exec\.allow: must be a list/],
    ['nodes:\n  - names: a1\n    vars: { x: [1] }\n', /nodes\.0\.vars\.x: must be a string/],
    ['a: [\n', /YAML syntax/],
    ['', /the file is empty/],
    ['- 1\n', /top level must be a mapping/],
    ['groups:\n  g: nope[1-2]\nnodes:\n  - names: a1\n', /groups\.g: node nope1 is not in nodes:/],
  ])('%j is refused naming file, line and key', (text, re) => {
    expect(configError(text)).toMatch(re);
  });

  it('finds the config in the documented order', () => {
    const d = tempDir();
    const home = path.join(d, 'home');
    fs.mkdirSync(path.join(home, '.config', 'vacm'), { recursive: true });
    const homeCfg = path.join(home, '.config', 'vacm', 'vacm.yaml');
    fs.writeFileSync(homeCfg, 'cluster: h\n');
    expect(findConfig(undefined, { HOME: home }, d)).toBe(homeCfg);
    fs.writeFileSync(path.join(d, 'vacm.yaml'), 'cluster: cwd\n');
    expect(findConfig(undefined, { HOME: home }, d)).toBe(path.join(d, 'vacm.yaml'));
    fs.writeFileSync(path.join(d, 'env.yaml'), 'cluster: env\n');
    expect(findConfig(undefined, { HOME: home, VACM_CONFIG: path.join(d, 'env.yaml') }, d)).toBe(path.join(d, 'env.yaml'));
    expect(findConfig(homeCfg, { HOME: home, VACM_CONFIG: path.join(d, 'env.yaml') }, d)).toBe(homeCfg);
    expect(() => findConfig(path.join(d, 'missing.yaml'))).toThrow(/not found \(from --config\)/);
  });

  it('with no config, the nodelist is this machine alone', () => {
    const c = localOnlyConfig();
    expect(c.nodes).toHaveLength(1);
    expect(c.nodes[0].vars.controller).toBe('true');
  });
});
