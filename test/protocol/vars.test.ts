import { describe, expect, it } from 'vitest';
import { badVarName, compileTemplate, expandTemplate, isSecretVar, isSimNode, isTrue, maskRequestLine, maskVars, setsSecret, shownValue } from '../../src/protocol/vars.js';

describe('isSecretVar', () => {
  it.each([
    ['bmc_password', true],
    ['ipmi_password', true],
    ['API_TOKEN', true],
    ['vault_secret', true],
    ['password', true],
    ['token', true],
    ['bmc_password_env', false], // names a variable, holds no secret
    ['bmc_password_file', false],
    ['passwords_seen', false],
    ['host', false],
    ['tokenizer', false],
    ['mytoken', false],
  ])('%s → %s', (key, secret) => {
    expect(isSecretVar(key)).toBe(secret);
  });
});

describe('masking', () => {
  it('masks only the secrets of a variable map, and leaves a map without them as it is', () => {
    const vars = { host: '10.0.0.1', bmc_password: 'hunter2', foo_token: 'abc' };
    expect(maskVars(vars)).toEqual({ host: '10.0.0.1', bmc_password: '****', foo_token: '****' });
    expect(vars.bmc_password).toBe('hunter2');
    const plain = { host: 'x' };
    expect(maskVars(plain)).toBe(plain);
    expect(shownValue('bmc_password', '')).toBe('****');
    expect(shownValue('host', 'h')).toBe('h');
  });

  it.each([
    ['NEXXUS:SET_VAR:n1:bmc_password:hunter2', 'NEXXUS:SET_VAR:n1:bmc_password:****'],
    ['nexxus:set_var:n[1-4]:foo_token:a:b\\:c', 'nexxus:set_var:n[1-4]:foo_token:****'],
    ['  NEXXUS:SET_VAR:n1:API_TOKEN:x', '  NEXXUS:SET_VAR:n1:API_TOKEN:****'],
    ['NEXXUS:SET_VAR:n\\:1:bmc_password:hunter2', 'NEXXUS:SET_VAR:n\\:1:bmc_password:****'],
    ['NEXXUS:SET_VAR:n1:host:10.0.0.1', 'NEXXUS:SET_VAR:n1:host:10.0.0.1'],
    ['NEXXUS:GET_VAR:n1:bmc_password', 'NEXXUS:GET_VAR:n1:bmc_password'],
    ['SSH:EXEC:n1:echo bmc_password:hunter2', 'SSH:EXEC:n1:echo bmc_password:hunter2'],
    ['NEXXUS:SET_VAR:n1:bmc_password', 'NEXXUS:SET_VAR:n1:bmc_password'],
    ['NEXXUS:SET_VAR:n1\\x:bmc_password:hunter2', 'NEXXUS:SET_VAR:****'], // cannot be split: only the head is kept
  ])('%s is shown as %s', (line, shown) => {
    expect(maskRequestLine(line)).toBe(shown);
  });

  it('tells which requests set a secret', () => {
    expect(setsSecret('NEXXUS:SET_VAR:n1:bmc_password:****')).toBe(true);
    expect(setsSecret('NEXXUS:SET_VAR:n1:host:x')).toBe(false);
    expect(setsSecret('POWER:STATUS:n1')).toBe(false);
  });
});

describe('badVarName', () => {
  it.each([
    ['__proto__', /reserved/],
    ['constructor', /reserved/],
    ['prototype', /reserved/],
    ['1abc', /bad variable name/],
    ['a-b', /bad variable name/],
  ])('refuses %s', (key, why) => {
    expect(badVarName(key)).toMatch(why);
  });
  it.each(['host', '_x', 'toString', 'bmc_password'])('takes %s', (key) => {
    expect(badVarName(key)).toBeUndefined();
  });
});

describe('isTrue: the one reader of a yes/no variable', () => {
  it.each(['true', 'yes', '1', 'on', 'ON', 'True', ' yes '])('reads %j as yes', (v) => {
    expect(isTrue(v)).toBe(true);
  });
  it.each([undefined, '', 'false', 'no', '0', 'off', 'tru', 'yes please'])('reads %j as no', (v) => {
    expect(isTrue(v)).toBe(false);
  });
  it('makes sim and controller agree: `sim: on` simulates as `controller: on` protects', () => {
    expect(isSimNode({ sim: 'on' })).toBe(true);
    expect(isSimNode({ sim: 'True' })).toBe(true);
    expect(isSimNode({ sim: 'off' })).toBe(false);
    expect(isSimNode({})).toBe(false);
  });
});

describe('compileTemplate (a config entry\'s vars, read once for all its nodes)', () => {
  /** the expansion as it was written before compileTemplate existed (one regex replace per node): the reference */
  const reference = (value: string, node: string): string =>
    value.replace(/\{(name|n)(?:([+-])(\d+))?\}/g, (_m, what: string, sign?: string, k?: string) => {
      if (what === 'name') return node;
      const m = /(\d+)(?!.*\d)/.exec(node);
      if (!m) throw new Error(`{n} needs a number in the node name, and "${node}" has none`);
      let n = parseInt(m[1], 10);
      if (sign && k) n = sign === '+' ? n + parseInt(k, 10) : n - parseInt(k, 10);
      return String(n);
    });
  /** what a template gives, or the message it throws */
  const outcome = (f: () => string) => {
    try {
      return { value: f() };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const TEMPLATES = ['plain', '', '{', '}', '{}', '{n', 'n}', '{name}', '{n}', '{N}', '{n+1}', '{n-1}', '{n+}', '{n+-1}', '{n*2}', '{n+007}',
    '{n-100}', '{n+99999999999999999999}', '10.0.{n}.{n+1}', '{name}-{n}-{name}', 'a{{n}}b', '{n}{n}{n-3}', '$(x){name}', '{name ', '{ n}'];
  const NODES = ['node001', 'n0', 'n', 'rack2-n17', 'a1b22c333', 'x9.y', '12', 'db-primary', 'n00000000000000000000042'];

  it('gives what the reference gives, errors included, for every template and node (expandTemplate too)', () => {
    for (const t of TEMPLATES) {
      const expand = compileTemplate(t);
      for (const n of NODES) {
        const want = outcome(() => reference(t, n));
        expect(outcome(() => expand(n)), `${t} / ${n}`).toEqual(want);
        expect(outcome(() => expandTemplate(t, n)), `${t} / ${n}`).toEqual(want);
      }
    }
  });

  it('agrees on random templates too', () => {
    const pieces = ['{name}', '{n}', '{n+', '{n-', '}', '{', '1', '23', 'x', '.', '-', '{n+2}', '{n-12}'];
    let seed = 7;
    const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
    for (let i = 0; i < 2000; i++) {
      const t = Array.from({ length: 1 + rnd(6) }, () => pieces[rnd(pieces.length)]).join('');
      const n = NODES[rnd(NODES.length)];
      expect(outcome(() => compileTemplate(t)(n)), `${t} / ${n}`).toEqual(outcome(() => reference(t, n)));
    }
  });
});
