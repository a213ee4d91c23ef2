/**
 * Hostile input for issue 14's sensors: a BMC's names, units and SEL texts are hostile strings. They
 * reach the store escaped and cut, bounded in count; /metrics escapes them as label values (one
 * sample a line, whatever they hold); a SEL record's texts reach a hook only as environment values
 * (never a shell string, never a NUL spawn refuses); a NODE_DOWN record's black box is bounded
 * however long the console lines. Also: the machine's own and an agent's temperatures in SENSORS:GET.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, run, tempDir } from '../helpers/engine.js';
import type { Engine } from '../../src/engine/engine.js';
import type { EventBody } from '../../src/protocol/events.js';
import type { ModuleDef } from '../../src/protocol/module.js';
import { selRecord, sensorReading } from '../../src/protocol/node-facts.js';
import { MAX_SENSORS_PER_NODE, safeBlackBox } from '../../src/protocol/sensors.js';
import { renderExposition } from '../../src/backends/metrics/exposition.js';
import { createSensorsModule } from '../../src/backends/sensors/module.js';
import { temperaturesOf } from '../../src/backends/sensors/local.js';
import { entryFromJson, entryToJson } from '../../src/protocol/timeline.js';

const EVIL = '\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J"quoted"\\back\nslash\r\x00$(touch PWNED)`id`';

/** A module that emits what a test hands it, with SENSOR and SEL as node facts (as SENSORS and SEL declare). */
function fakeBmc(events: () => EventBody[], consoleLines?: (node: string, n: number) => string[]): ModuleDef {
  return {
    tag: 'FAKE',
    summary: 'test',
    facts: { SENSOR: sensorReading, SEL: selRecord },
    commands: [{ name: 'EMIT', summary: 'x', nodes: 'optional', args: [], lane: 'bulk', dangerous: false, async run(ctx) { for (const e of events()) ctx.emit(e); } }],
    lastConsoleLines: consoleLines,
  };
}

const YAML = 'cluster: evil\nnodes:\n  - names: n[1-2]\n';
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

describe('hostile BMC strings in the store and /metrics', () => {
  it('names, units and values are escaped and cut; a BMC with 500 sensors keeps 64', async () => {
    const many: EventBody[] = Array.from({ length: 500 }, (_, i) => ({ type: 'SENSOR', node: 'n1', name: `${i} ${EVIL}${'x'.repeat(300)}`, value: i === 0 ? '9e999' : String(20 + (i % 50)), unit: i % 2 ? 'C' : EVIL, status: i === 3 ? 'critical' : 'pwned' }));
    const m = await makeEngine({ yaml: YAML, modules: [fakeBmc(() => many)] });
    engine = m.engine;
    await run(engine, 'FAKE:EMIT');
    const s = engine.node('n1')!.sensors!;
    expect(s.readings).toHaveLength(MAX_SENSORS_PER_NODE);
    for (const r of s.readings) {
      expect(r.name).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      expect(r.unit).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      expect(r.name.length).toBeLessThanOrEqual(40);
      expect(['nominal', 'warning', 'critical', 'na']).toContain(r.status);
    }
    // Infinity is not a number a temperature can be
    expect(Number.isFinite(s.hottest!.num)).toBe(true);
    const text = renderExposition({ cluster: 'evil', nodes: engine.nodes(), jobs: [] });
    const samples = text.split('\n').filter((l) => l.startsWith('vacm_bmc_sensor{'));
    expect(samples).toHaveLength(64);
    // one sample a line: label values quoted and escaped, the value last
    for (const l of samples) expect(l).toMatch(/^vacm_bmc_sensor\{node="n1",sensor="(?:[^"\\\n]|\\["\\n])*",unit="(?:[^"\\\n]|\\["\\n])*"\} -?[\d.e+]+$/);
    // distinct label sets (Prometheus refuses a scrape with duplicates)
    expect(new Set(samples.map((l) => l.replace(/ [^ ]+$/, ''))).size).toBe(samples.length);
  });

  it('SEL texts reach an on: [sel] hook only as environment values: no command runs, no NUL, escaped and cut', async () => {
    const dir = tempDir('vacm-hostile-sel-');
    const out = path.join(dir, 'env');
    const yaml = `${YAML}hooks:\n  - command: 'env | grep ^VACM_ > "${out}"'\n    on: [sel]\n  - command: 'touch "${dir}/state-hook"'\n`;
    const m = await makeEngine({ yaml, modules: [fakeBmc(() => [])], engine: { monitor: true } });
    engine = m.engine;
    engine.emitUnsolicited('FAKE', { type: 'SEL', node: 'n2', id: 7, time: EVIL, sensor: EVIL, event: EVIL.repeat(20), direction: 'asserted' });
    await engine.membership.idle();
    const env = fs.readFileSync(out, 'utf8');
    expect(env).toContain('VACM_EVENT=sel\n');
    expect(env).toContain('VACM_SEL_ID=7\n');
    // escaped, and cut at 40 characters
    expect(env).toMatch(/^VACM_SEL_SENSOR=\\x1b\]52;c;cGF5bG9hZA==\\x07\\x1b\[2J"quote…$/m);
    expect(env).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const ev = /^VACM_SEL_EVENT=(.*)$/m.exec(env)![1]!;
    expect(ev.length).toBeLessThanOrEqual(160);
    expect(fs.existsSync(path.join(process.cwd(), 'PWNED'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
    // a hook without on: is for state transitions: a SEL record does not run it
    expect(fs.existsSync(path.join(dir, 'state-hook'))).toBe(false);
    // the job-0 event is in the timeline, escaped
    const t = engine.recentEvents({ nodes: ['n2'] }).find((e) => e.kind === 'sel')!;
    expect(t.text).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the black box of a NODE_DOWN record', () => {
  it('carries the last 20 console lines (each cut), the SEL of the last 10 minutes and the last stats; bounded when read back', async () => {
    const recent = new Date(Date.now() - 60_000).toISOString().replace('.000Z', 'Z');
    const old = new Date(Date.now() - 3_600_000).toISOString().replace('.000Z', 'Z');
    const sel: EventBody[] = [
      { type: 'SEL', node: 'n1', id: 1, time: old, sensor: 'CPU Temp', event: 'Upper Critical - going high', direction: 'asserted' },
      { type: 'SEL', node: 'n1', id: 2, time: recent, sensor: 'CPU Temp', event: `Upper Non-recoverable ${EVIL}`, direction: 'asserted' },
    ];
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1} ${EVIL}${'y'.repeat(1000)}`);
    const m = await makeEngine({ yaml: YAML, modules: [fakeBmc(() => sel, (node, n) => (node === 'n1' ? lines.slice(-n) : []))], engine: { monitor: true } });
    engine = m.engine;
    await run(engine, 'FAKE:EMIT');
    engine.recordStats('n1', { load1: 12.5, mem_used_pct: 97, os: EVIL });
    engine.setNodeState('n1', 'up');
    engine.setNodeState('n1', 'down', 'no ping reply');
    expect(m.events.some((e) => e.type === 'NODE_DOWN' && e.node === 'n1')).toBe(true);
    const rec = engine.recentEvents({ nodes: ['n1'] }).filter((e) => e.kind === 'membership').at(-1)!;
    const box = rec.blackBox!;
    expect(box.console).toHaveLength(20);
    expect(box.console[0]).toMatch(/^line 11 /);
    expect(box.console[19]).toMatch(/^line 30 /);
    for (const l of [...box.console, ...box.sel]) {
      expect(l.length).toBeLessThanOrEqual(160);
      expect(l).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    }
    // the hour-old record is not among the last 10 minutes
    expect(box.sel).toHaveLength(1);
    expect(box.sel[0]).toMatch(/^\S+ CPU Temp: Upper Non-recoverable/);
    expect(box.stats).toMatchObject({ load1: 12.5, mem_used_pct: 97 });
    expect(box.statsAt).toBeTypeOf('number');
    // the up transition carries none
    expect(engine.recentEvents({ nodes: ['n1'] }).filter((e) => e.kind === 'membership' && e.blackBox).length).toBe(1);
    // a stored line is read back bounded, whatever a hand-edited file holds
    const line = entryToJson(rec);
    expect(line.length).toBeLessThan(8 * 1024);
    const forged = JSON.parse(line);
    forged.blackBox = { console: Array.from({ length: 200 }, () => EVIL.repeat(3)), sel: 'x', stats: { ['k'.repeat(100)]: 1, ok: { nested: true }, good: 3 } };
    const back = entryFromJson(JSON.stringify(forged), 1)!;
    expect(back.blackBox!.console).toHaveLength(20);
    expect(back.blackBox!.sel).toEqual([]);
    expect(back.blackBox!.stats).toEqual({ good: 3 });
    expect(safeBlackBox('nope')).toBeUndefined();
  });
});

describe('SENSORS:GET without a BMC', () => {
  it('the machine vacm runs on answers its lm-sensors temperatures; an agent node its datagram\'s; others ERR_UNSUPPORTED', async () => {
    const sensors = createSensorsModule({ local: async () => [{ name: 'CPU', celsius: 54.25 }, { name: 'Core 0', celsius: 51 }] });
    const m = await makeEngine({ yaml: 'cluster: t\nnodes:\n  - names: vacm-test-host\n  - names: agent1\n  - names: bare\n', modules: [sensors] });
    engine = m.engine;
    engine.recordStats('agent1', { load1: 1, temp_cpu: 61.5 });
    const lines = await run(engine, 'SENSORS:GET:vacm-test-host,agent1,bare');
    expect(lines).toContain('SENSORS:' + lines[0]!.split(':')[1] + ':SENSOR:vacm-test-host:CPU:54.25:C:na');
    expect(lines.some((l) => /:SENSOR:vacm-test-host:Core 0:51:C:na$/.test(l))).toBe(true);
    expect(lines.some((l) => /:SENSOR:agent1:CPU Temp:61.5:C:na$/.test(l))).toBe(true);
    expect(lines.some((l) => /:ERROR:bare:ERR_UNSUPPORTED:bare has no bmc_host/.test(l))).toBe(true);
    expect(engine.node('vacm-test-host')!.sensors!.hottest).toMatchObject({ name: 'CPU', num: 54.25 });
  });

  it('systeminformation\'s answer: null and absurd values dropped, cores bounded', () => {
    expect(temperaturesOf({ main: null, cores: [], max: null, socket: [], chipset: null })).toEqual([]);
    expect(temperaturesOf({ main: 48, cores: [45, null, 1e9, ...Array(100).fill(40)], chipset: -300 }).map((t) => t.name)).toEqual(['CPU', 'Core 0', ...Array.from({ length: 61 }, (_, i) => `Core ${i + 3}`)]);
  });
});
