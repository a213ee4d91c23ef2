/**
 * A node's serial console is hostile input: escape sequences that would retitle, clear or paste
 * into the operator's terminal, a 10 MB line, a flood. None reaches a terminal raw, memory stays
 * bounded (a line is cut, a node keeps keep_lines), and the log file is escaped and rotated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngine, run } from '../helpers/engine.js';
import { createConsoleModule } from '../../src/backends/console/module.js';
import type { ConsoleConnection, ConsoleDriver } from '../../src/backends/console/driver.js';
import { MAX_CONSOLE_LINE } from '../../src/backends/console/lines.js';
import { toJsonLine, toLine, type VacmEvent } from '../../src/protocol/events.js';
import { visible } from '../../src/protocol/visible.js';
import { VacmError } from '../../src/protocol/errors.js';
import { until } from '../helpers/wait.js';

/** A console whose "node" the test is: `feed` is what the node prints. */
function fakeSerial() {
  const feeds = new Map<string, (d: Buffer) => void>();
  const written: Buffer[] = [];
  const driver: ConsoleDriver = {
    name: 'ipmi',
    async open(node, _vars, o) {
      feeds.set(node, o.onData);
      let end!: (e: VacmError | undefined) => void;
      const ended = new Promise<VacmError | undefined>((r) => (end = r));
      const con: ConsoleConnection = {
        write: (d) => void written.push(Buffer.from(d)),
        sendBreak: () => undefined,
        drained: async () => undefined,
        ended,
        close: async () => end(undefined),
      };
      return con;
    },
  };
  return { driver, written, feed: (node: string, d: string | Buffer) => feeds.get(node)!(Buffer.isBuffer(d) ? d : Buffer.from(d, 'latin1')), has: (node: string) => feeds.has(node) };
}

const YAML = (extra = '') => `
cluster: hostile
nodes:
  - names: evil01
    vars: { console: ipmi, bmc_host: 127.0.0.9, bmc_user: u, bmc_password: p }
console: { log: true, keep_lines: 50, max_bytes: 65536${extra} }
`;

async function setup() {
  const serial = fakeSerial();
  const mod = createConsoleModule({ drivers: { ipmi: serial.driver }, partialMs: 50 });
  const h = await makeEngine({ yaml: YAML(), modules: [mod], engine: { monitor: true } });
  await until('the serial port of evil01', () => serial.has('evil01'));
  const lines = (events: VacmEvent[]) => events.filter((e): e is Extract<VacmEvent, { type: 'CONSOLE' }> => e.type === 'CONSOLE' && e.kind === 'line');
  return { ...h, serial, mod, lines };
}

describe('hostile serial consoles', () => {
  it('escape sequences never reach a terminal raw: not on a TTY, not in JSON, not in the log file', async () => {
    const { engine, events, serial, stateDir, lines } = await setup();
    try {
      const watch = engine.submit('CONSOLE:WATCH:evil01');
      await until('the console state', () => events.some((e) => e.job === watch.id && e.type === 'CONSOLE_STATE'));
      // OSC 52 (write the operator's clipboard), a window title, clear screen, 8-bit CSI, BEL
      const evil = '\x1b]52;c;cm0gLXJmIH4K\x07\x1b]0;pwned\x07\x1b[2J\x9b31mred\x07 end';
      serial.feed('evil01', Buffer.from(evil + '\r\n', 'utf8'));
      await until('a console line', () => lines(events).length > 0);
      const e = lines(events)[0]!;
      expect(e.line).toBe(evil); // kept as it came, for scripts reading a pipe (as SSH:EXEC's OUTPUT)
      const onTty = visible(toLine(e));
      expect(onTty).toBe(`CONSOLE:${watch.id}:CONSOLE:evil01:line:^[]52;c;cm0gLXJmIH4K^G^[]0;pwned^G^[[2J\\x9b31mred^G end`);
      expect(toJsonLine(e)).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      const log = path.join(stateDir, 'console', 'evil01.log');
      await until('the end in the console log', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(' end'));
      const text = fs.readFileSync(log, 'utf8');
      expect(text.replace(/\n/g, '')).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      expect(text).toContain('\\x1b]52;c;cm0gLXJmIH4K\\x07');
      watch.cancel();
    } finally {
      await engine.stop();
    }
  });

  it('a 10 MB line is cut to one bounded line that says how much was cut', async () => {
    const { engine, events, serial, lines } = await setup();
    try {
      const watch = engine.submit('CONSOLE:WATCH:evil01');
      await until('the console state', () => events.some((e) => e.job === watch.id && e.type === 'CONSOLE_STATE'));
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      for (let i = 0; i < 160; i++) serial.feed('evil01', chunk); // 10 MiB, no newline
      serial.feed('evil01', '\n');
      await until('a console line', () => lines(events).length > 0);
      const got = lines(events);
      expect(got).toHaveLength(1);
      expect(got[0]!.line).toBe('A'.repeat(MAX_CONSOLE_LINE) + `…[cut ${160 * 64 * 1024 - MAX_CONSOLE_LINE} chars]`);
      // the partial lines shown while it came are bounded the same way
      for (const e of events) if (e.type === 'CONSOLE') expect(e.line.length).toBeLessThan(MAX_CONSOLE_LINE + 40);
      watch.cancel();
    } finally {
      await engine.stop();
    }
  });

  it('a flood keeps keep_lines in memory and rotates the log at max_bytes', async () => {
    const { engine, serial, stateDir } = await setup();
    try {
      const line = 'flood '.padEnd(100, 'x') + '\r\n';
      for (let i = 0; i < 5000; i++) serial.feed('evil01', `${i} ${line}`); // ~510 KB against max_bytes 64 KiB
      const tail = await run(engine, 'CONSOLE:TAIL:evil01:50');
      const shown = tail.filter((l) => l.includes(':CONSOLE:'));
      expect(shown).toHaveLength(50);
      expect(shown[0]).toContain(':line:4950 flood');
      expect(shown[49]).toContain(':line:4999 flood');
      const more = await run(engine, 'CONSOLE:TAIL:evil01:51');
      expect(more.join('\n')).toMatch(/ERR_BAD_ARGS:the line count is '51'; give a number from 1 to 50/);
      await engine.stop(); // flushes the log
      const dir = path.join(stateDir, 'console');
      const size = fs.statSync(path.join(dir, 'evil01.log')).size;
      expect(size).toBeLessThanOrEqual(65536);
      expect(fs.statSync(path.join(dir, 'evil01.log.1')).size).toBeLessThanOrEqual(65536);
      expect(fs.readFileSync(path.join(dir, 'evil01.log'), 'utf8')).toContain(' 4999 flood');
    } finally {
      await engine.stop();
    }
  });

  it('a planted symlink at console/<node>.log is not written through', async () => {
    const serial = fakeSerial();
    const mod = createConsoleModule({ drivers: { ipmi: serial.driver }, partialMs: 50 });
    const { tempDir } = await import('../helpers/engine.js');
    const stateDir = tempDir();
    fs.mkdirSync(path.join(stateDir, 'console'), { mode: 0o700 });
    const victim = path.join(stateDir, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, path.join(stateDir, 'console', 'evil01.log'));
    const warnings: string[] = [];
    const { engine } = await makeEngine({ yaml: YAML(), modules: [mod], engine: { monitor: true, stateDir, log: (_l: string, m: string) => void warnings.push(m) } as never });
    try {
      await until('the serial port of evil01', () => serial.has('evil01'));
      serial.feed('evil01', 'overwrite me\r\n');
      await until('the unwritable-log warning', () => warnings.some((w) => w.includes('console log of evil01 not written')), 3000);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(warnings.find((w) => w.includes('console log of evil01'))).toMatch(/symbolic link/);
    } finally {
      await engine.stop();
    }
  });

  it('SEND refuses more than 4096 bytes before anything is typed', async () => {
    const { engine, serial } = await setup();
    try {
      const lines = await run(engine, `CONSOLE:SEND:evil01:${'y'.repeat(5000)}`);
      expect(lines.join('\n')).toMatch(/ERR_LIMIT:CONSOLE\\:SEND takes at most 4096 bytes/);
      expect(serial.written).toHaveLength(0);
    } finally {
      await engine.stop();
    }
  });
});
