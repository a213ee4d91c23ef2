/**
 * CONSOLE over IPMI SOL against a real OpenIPMI ipmi_sim, whose `sol "tcp:..."` serial port is a
 * TCP server this test runs: what the server writes arrives as CONSOLE lines, SEND reaches it,
 * the kept console logs to console/<node>.log and comes back after ipmi_sim restarts, and after a
 * cancel (or the engine's stop) ipmitool's own `sol activate` finds the payload free.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipmiSimAvailable, startIpmiSims, type IpmiSims } from '../fixtures/ipmi-sim.js';
import { makeEngine, run } from '../helpers/engine.js';
import { createConsoleModule } from '../../src/backends/console/module.js';
import { toLine, type VacmEvent } from '../../src/protocol/events.js';
import type { Engine } from '../../src/engine/engine.js';
import { SerialServer } from '../helpers/serial.js';
import { until } from '../helpers/wait.js';
import { hasBinary } from '../helpers/peers.js';

const have = ipmiSimAvailable() && hasBinary('ipmitool') && hasBinary('script');
const PASSWORD = 'pw-sol-31';
const BMC = '127.0.20.171';

const consoleLines = (events: VacmEvent[], node: string): string[] =>
  events.filter((e): e is Extract<VacmEvent, { type: 'CONSOLE' }> => e.type === 'CONSOLE' && e.node === node && e.kind === 'line').map((e) => e.line);

/** ipmitool's own SOL client, on a pty, for a few seconds; its output says whether it got the payload. */
function ipmitoolSol(seconds: number): { proc: ChildProcess; output: () => string; done: Promise<void> } {
  let out = '';
  const proc = spawn('timeout', [String(seconds), 'script', '-qfc', `ipmitool -I lanplus -C 3 -H ${BMC} -U admin -P ${PASSWORD} sol activate`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  const done = new Promise<void>((r) => proc.once('close', () => r()));
  return { proc, output: () => out, done };
}

async function ipmitoolDeactivate(): Promise<void> {
  spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', BMC, '-U', 'admin', '-P', PASSWORD, 'sol', 'deactivate'], { timeout: 10_000, stdio: 'ignore' });
}

const yaml = (log: boolean) => `
cluster: sol
nodes:
  - names: con01
    vars: { console: ipmi, bmc_host: "${BMC}", bmc_user: admin, bmc_password: "${PASSWORD}" }
  - names: plain01
    vars: { console: none }
console: { log: ${log}, max_bytes: 65536, keep_lines: 50, reconnect_min_ms: 200, reconnect_max_ms: 1000 }
`;

const consoleModule = () => createConsoleModule({ ipmi: { client: { bindAddress: '127.0.0.1', retryMs: 300, retries: 2 }, sol: { keepaliveMs: 1000, retryMs: 300 } } });

describe.skipIf(!have)('CONSOLE over IPMI SOL against ipmi_sim', () => {
  let sims: IpmiSims;
  const serial = new SerialServer();

  beforeAll(async () => {
    await serial.listen();
    sims = await startIpmiSims({ count: 1, firstAddress: BMC, password: PASSWORD, sol: () => ({ host: '127.0.0.1', port: serial.port }) });
  }, 60_000);

  afterAll(async () => {
    await sims?.stop();
    await serial.close();
  });

  describe('a console kept by the engine (console.log: true)', () => {
    let engine: Engine;
    let events: VacmEvent[];
    let stateDir: string;
    let watchId = 0;

    beforeAll(async () => {
      ({ engine, events, stateDir } = await makeEngine({ yaml: yaml(true), modules: [consoleModule()], engine: { monitor: true } }));
      watchId = engine.submit('CONSOLE:WATCH:con01').id;
      // ipmi_sim connects to its serial port lazily once SOL is active
      await until('ipmi_sim to connect to the serial server', () => serial.sockets.size > 0, 30_000);
      // what the port says in the first moments after ipmi_sim connects may be lost (as with
      // ipmitool): the console counts as up once a first line came through
      await until('a first line', () => consoleLines(events, 'con01').includes('warm-up'), 20_000, { step: () => serial.say('warm-up\r\n') });
    }, 60_000);

    afterAll(async () => {
      await engine?.stop();
    });

    it('shows a line the serial port writes within 1 s, to WATCH', async () => {
      const before = events.length;
      const t0 = Date.now();
      serial.say('kernel: hello from con01\r\n');
      await until('the line', () => events.slice(before).some((e) => e.job === watchId && e.type === 'CONSOLE' && e.line === 'kernel: hello from con01'), 5000);
      expect(Date.now() - t0).toBeLessThan(1000);
      const line = events.slice(before).find((e) => e.type === 'CONSOLE')!;
      expect(toLine(line)).toBe(`CONSOLE:${watchId}:CONSOLE:con01:line:kernel: hello from con01`);
    });

    it('shows a prompt without a newline as a partial line', async () => {
      const before = events.length;
      serial.say('con01 login: ');
      await until('the prompt', () => events.slice(before).some((e) => e.type === 'CONSOLE' && e.kind === 'part' && e.line === 'con01 login: '), 5000);
      serial.say('\r\n');
    });

    it('SEND types the text and Enter on the serial port', async () => {
      const lines = await run(engine, 'CONSOLE:SEND:con01:root');
      expect(lines.at(-1)).toMatch(/JOB_COMPLETED:ok=1:failed=0$/);
      await until('the server to receive it', () => serial.received.includes('root\r'), 5000);
    });

    it('SEND to a node without a console fails that node, naming what to set', async () => {
      const lines = await run(engine, 'CONSOLE:SEND:plain01:x');
      expect(lines.join('\n')).toMatch(/ERROR:plain01:ERR_UNSUPPORTED:plain01 has no serial console\\: set its console variable/);
      expect(lines.at(-1)).toMatch(/JOB_COMPLETED:ok=0:failed=1$/);
    });

    it('TAIL gives the kept lines and the log file holds them, timestamped', async () => {
      serial.say('tail-a\r\ntail-b\r\n');
      await until('the lines', () => consoleLines(events, 'con01').includes('tail-b'), 5000);
      const lines = await run(engine, 'CONSOLE:TAIL:con01:2');
      expect(lines.filter((l) => l.includes(':CONSOLE:')).map((l) => l.replace(/^CONSOLE:\d+:/, ''))).toEqual(['CONSOLE:con01:line:tail-a', 'CONSOLE:con01:line:tail-b']);
      const log = path.join(stateDir, 'console', 'con01.log');
      await until('the log file', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('tail-b'), 5000);
      const text = fs.readFileSync(log, 'utf8');
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z kernel: hello from con01$/m);
      expect(fs.statSync(log).mode & 0o777).toBe(0o600);
    });

    it('comes back by itself after ipmi_sim restarts', async () => {
      await sims.restart(0);
      // the BMC forgot our session: the keep-alive notices, the hub reopens with backoff
      await until('a line after the restart', () => consoleLines(events, 'con01').includes('after-restart'), 40_000, { step: () => serial.say('after-restart\r\n') });
      expect(events.some((e) => e.type === 'CONSOLE_STATE' && e.node === 'con01' && e.state === 'lost')).toBe(true);
      const log = fs.readFileSync(path.join(stateDir, 'console', 'con01.log'), 'utf8');
      await until('the log', () => fs.readFileSync(path.join(stateDir, 'console', 'con01.log'), 'utf8').includes('after-restart'), 5000);
      expect(log).toContain('tail-b');
    }, 60_000);

    it('while vacm holds the payload, ipmitool is refused; after the engine stops it gets it', async () => {
      const busy = ipmitoolSol(6);
      await busy.done;
      expect(busy.output()).toMatch(/already active/i);
      await engine.stop();
      const free = ipmitoolSol(4);
      await free.done;
      expect(free.output()).toContain('SOL Session operational');
      expect(free.output()).not.toMatch(/already active/i);
      await ipmitoolDeactivate();
    }, 30_000);
  });

  describe('a console opened by one WATCH (no kept consoles)', () => {
    let engine: Engine;
    let events: VacmEvent[];

    beforeAll(async () => {
      ({ engine, events } = await makeEngine({ yaml: yaml(false), modules: [consoleModule()] }));
    });

    afterAll(async () => {
      await engine?.stop();
    });

    it('releases the payload when the WATCH is cancelled: ipmitool sol activate then succeeds', async () => {
      const h = engine.submit('CONSOLE:WATCH:con01');
      await until('the console to connect', () => events.some((e) => e.job === h.id && e.type === 'CONSOLE_STATE' && e.state === 'connected'), 20_000);
      serial.say('watched\r\n');
      await until('a line', () => consoleLines(events, 'con01').includes('watched'), 20_000, { step: () => serial.say('watched\r\n') });
      h.cancel();
      const view = await h.done;
      expect(view.state).toBe('cancelled');
      const free = ipmitoolSol(4);
      await free.done;
      expect(free.output()).toContain('SOL Session operational');
      expect(free.output()).not.toMatch(/already active/i);
    }, 40_000);

    it('refuses a console another session holds, and takes it over with FORCE', async () => {
      await ipmitoolDeactivate();
      const other = ipmitoolSol(20);
      await until('ipmitool to hold the payload', () => other.output().includes('SOL Session operational'), 10_000);
      const refused = await run(engine, 'CONSOLE:SEND:con01:nope');
      expect(refused.join('\n')).toMatch(/ERROR:con01:ERR_CONSOLE_BUSY:.*already active on another session.*FORCE/);
      const h = engine.submit('CONSOLE:WATCH:con01:FORCE');
      await until('the forced console', () => events.some((e) => e.job === h.id && e.type === 'CONSOLE_STATE' && e.state === 'connected'), 20_000);
      h.cancel();
      await h.done;
      if (other.proc.pid) process.kill(other.proc.pid, 'SIGTERM');
      await other.done;
      await ipmitoolDeactivate();
    }, 40_000);
  });
});
