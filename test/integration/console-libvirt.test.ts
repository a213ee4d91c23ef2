/**
 * CONSOLE with the libvirt driver against a real domain (issue 14): a session libvirtd runs a tiny
 * QEMU (TCG) domain with a pty serial console and no disk, whose SeaBIOS writes to the serial port
 * (useserial): its banner, then "No bootable device", again every second. The `vacm` binary's
 * CONSOLE:WATCH (through the real `virsh console` on a pty) receives those lines, and CONSOLE:TAIL
 * in the same engine answers them from the shared connection. One `vacm ipc --parallel` process
 * reads the requests on stdin; it is stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { libvirtSessionAvailable, startLibvirtSession, type LibvirtSession } from '../fixtures/libvirt-session.js';

const BIN = path.join(ROOT, 'bin', 'vacm.js');
const have = libvirtSessionAvailable() && fs.existsSync(path.join(ROOT, 'dist'));

describe.skipIf(!have)('CONSOLE with the libvirt driver against a running QEMU domain (needs libvirt-daemon, qemu-system-x86, npm run build)', () => {
  let lv: LibvirtSession;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    lv = await startLibvirtSession({ domains: ['con1'], serial: ['con1'] });
  }, 60000);

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('close', r));
    }
    await lv?.stop();
  }, 60000);

  it('WATCH receives SeaBIOS\'s banner and "No bootable device" through virsh console; TAIL answers them', async () => {
    const dir = tempDir('vacm-console-libvirt-');
    const config = path.join(dir, 'vacm.yaml');
    // the session daemon's URI names its socket: a parameter vacm takes only when the config opts in
    fs.writeFileSync(config, `cluster: lv
power: { drivers: { libvirt: { allow_uri_params: [socket] } } }
nodes:
  - names: con1
    vars: { power: libvirt, console: libvirt, libvirt_uri: "${lv.uri}" }
`);
    const proc = spawn(process.execPath, [BIN, 'ipc', '--parallel', '--config', config], {
      cwd: ROOT,
      env: { ...process.env, VACM_STATE_DIR: path.join(dir, 'state'), CI: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const until = async (re: RegExp, ms: number): Promise<string> => {
      for (let waited = 0; waited < ms; waited += 100) {
        const m = re.exec(out);
        if (m) return m[0];
        if (proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${re} within ${ms} ms; stdout:\n${out}\nstderr:\n${err}`);
    };

    proc.stdin!.write('POWER:ON:con1\n');
    await until(/^POWER:\d+:POWER:con1:on$/m, 30000);
    expect(await lv.domstate('con1')).toBe('running');

    proc.stdin!.write('CONSOLE:WATCH:con1\n');
    const connected = await until(/^CONSOLE:\d+:CONSOLE_STATE:con1:connected:/m, 30000);
    const watchJob = connected.split(':')[1]!;
    // SeaBIOS reboots every second with nothing to boot: its banner and the message come round again
    await until(/^CONSOLE:\d+:CONSOLE:con1:line:.*SeaBIOS \(version [^)\n]+\)/m, 60000);
    await until(/^CONSOLE:\d+:CONSOLE:con1:line:.*No bootable device/m, 60000);
    const watched = out.split('\n').filter((l) => l.startsWith(`CONSOLE:${watchJob}:CONSOLE:con1:line:`));
    expect(watched.some((l) => l.includes('SeaBIOS'))).toBe(true);
    expect(watched.some((l) => l.includes('No bootable device'))).toBe(true);

    // TAIL in the same engine: the lines the connection WATCH shares has kept
    proc.stdin!.write('CONSOLE:TAIL:con1:200\n');
    const started = await until(new RegExp(`^CONSOLE:(?!${watchJob}:)\\d+:JOB_STARTED`, 'm'), 30000);
    const tailJob = started.split(':')[1]!;
    await until(new RegExp(`^CONSOLE:${tailJob}:JOB_COMPLETED`, 'm'), 30000);
    const tail = out.split('\n').filter((l) => l.startsWith(`CONSOLE:${tailJob}:CONSOLE:con1:line:`));
    expect(tail.some((l) => l.includes('SeaBIOS'))).toBe(true);
    expect(tail.some((l) => l.includes('No bootable device'))).toBe(true);

    proc.kill('SIGINT'); // Ctrl-C: the WATCH is cancelled, virsh console ends
    const ended = await new Promise<string>((r) => proc.once('close', (c, sig) => r(`${c}/${sig}`)));
    expect(['130/null', 'null/SIGINT']).toContain(ended); // ended by the interrupt, as a shell sees Ctrl-C
    child = undefined;
  }, 180000);
});
