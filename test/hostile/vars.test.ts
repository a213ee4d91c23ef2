/**
 * Run-time variables against keys that name JavaScript's object machinery (issue 10, item 12):
 * node variables live in maps without a prototype, and SET_VAR refuses the reserved keys.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, run } from '../helpers/engine.js';
import type { Engine } from '../../src/engine/engine.js';
import type { ModuleDef } from '../../src/protocol/module.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const YAML = `
cluster: t
nodes:
  - names: n[1-2]
    vars: { host: "127.0.10.{n}" }
`;

describe('variables named like object machinery', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('GET_VAR of %s is ERR_NO_SUCH_VAR, not ok with nothing', async (key) => {
    ({ engine } = await makeEngine({ yaml: YAML }));
    const lines = await run(engine, `NEXXUS:GET_VAR:n1:${key}`);
    expect(lines).toEqual([
      'NEXXUS:1:JOB_STARTED',
      `NEXXUS:1:ERROR:n1:ERR_NO_SUCH_VAR:n1 has no variable ${key}`,
      'NEXXUS:1:JOB_COMPLETED:ok=0:failed=1',
    ]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('SET_VAR of %s is refused with the reason, and nothing changes', async (key) => {
    ({ engine } = await makeEngine({ yaml: YAML }));
    const lines = await run(engine, `NEXXUS:SET_VAR:n[1-2]:${key}:polluted`);
    expect(lines[0]).toBe('NEXXUS:1:JOB_STARTED');
    expect(lines).toContain(`NEXXUS:1:ERROR:n1:ERR_BAD_ARGS:"${key}" is reserved (it names JavaScript's object machinery, not a variable); choose another name`);
    expect(lines.at(-1)).toMatch(/^NEXXUS:1:JOB_FAILED:ERR_BAD_ARGS:/);
    expect(Object.keys(engine.vars('n1'))).toEqual(['host']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await run(engine, `NEXXUS:GET_VAR:n1:${key}`))[1]).toMatch(/ERR_NO_SUCH_VAR/);
    // the module API refuses it as well
    expect(() => engine!.setVar('n1', key, 'x')).toThrow(/reserved/);
  });

  it('toString is an ordinary variable: set, read, unset', async () => {
    ({ engine } = await makeEngine({ yaml: YAML }));
    await run(engine, 'NEXXUS:SET_VAR:n1:toString:fine');
    expect(await run(engine, 'NEXXUS:GET_VAR:n1:toString')).toContain('NEXXUS:2:VAR:n1:toString:fine');
    expect((await run(engine, 'NEXXUS:UNSET_VAR:n[1-2]:toString')).at(-1)).toBe('NEXXUS:3:JOB_COMPLETED:ok=1:failed=1');
    expect((await run(engine, 'NEXXUS:UNSET_VAR:n1:constructor')).at(-1)).toBe('NEXXUS:4:JOB_COMPLETED:ok=0:failed=1');
  });

  it('a module reading an absent key of the node\'s variables gets undefined, not an inherited function', async () => {
    const seen: unknown[] = [];
    const probe: ModuleDef = {
      tag: 'PROBE', summary: 'p',
      commands: [{ name: 'READ', summary: 'r', nodes: 'required', args: [], lane: 'control', dangerous: false, async run(ctx) {
        await ctx.forEachNode(ctx.nodes, async ({ vars }) => void seen.push(vars.constructor, vars.toString, ctx.host.vars('n1').valueOf));
      } }],
    };
    ({ engine } = await makeEngine({ yaml: YAML, modules: [probe] }));
    await run(engine, 'PROBE:READ:n1');
    expect(seen).toEqual([undefined, undefined, undefined]);
  });
});
