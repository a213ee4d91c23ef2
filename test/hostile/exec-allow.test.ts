/**
 * exec.allow against a real OpenSSH node (test/fixtures/sshd.ts): each bypass of a glob matched
 * against the whole command (issue 10, item 2) is ERR_NOT_ALLOWED and leaves no marker file on
 * the node; allowed commands run with exactly the words that were checked. Also: the re-quoted
 * words come back unchanged through the shells a node may have (sh, dash, bash).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasBinary, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { closeEngine, errorOf, openEngine, type Harness } from '../helpers/ssh-harness.js';
import { runJob } from '../helpers/engine.js';
import { quoteWords } from '../../src/protocol/shell-words.js';
import type { VacmEvent } from '../../src/protocol/events.js';

const outputOf = (events: VacmEvent[], node: string): string[] =>
  events.flatMap((e) => (e.type === 'OUTPUT' && e.node === node ? [`${e.stream}:${e.line}`] : []));

describe('re-quoted words survive the remote shell unchanged', () => {
  const hostile = ['', ' ', "'", "''", '"', '\\', '\\\\', '$(touch y)', '`touch y`', '${HOME}', '; touch y', '| touch y', '&& touch y',
    '> y', '< /etc/shadow', '*', '?', '[a-z]', '~', '~root', '#x', '!!', '{a,b}', 'A=B', "it's", 'a\tb', 'é日本', '-n', '--', 'if', 'time'];
  for (const shell of ['sh', 'dash', 'bash'].filter(hasBinary)) {
    it(`${shell} -c gives back every word`, () => {
      const cmd = quoteWords(['printf', '%s\\0', ...hostile]);
      const out = execFileSync(shell, ['-c', cmd], { encoding: 'utf8', cwd: '/tmp' });
      expect(out.split('\0').slice(0, -1)).toEqual(hostile);
    });
  }
});

describe.skipIf(!sshdAvailable())('exec.allow against a real sshd (needs root and openssh-server: apt-get install openssh-server)', () => {
  let cluster: SshCluster;
  let ls: Harness;
  let marker: string;

  beforeAll(async () => {
    cluster = await startSshCluster({ count: 2 });
    marker = path.join(cluster.workDir, 'y');
    ls = await openEngine(cluster.vacmYaml({ top: 'exec:\n  allow: ["ls *", "cat /tmp/*"]' }));
  });

  afterAll(async () => {
    await closeEngine(ls);
    await cluster?.stop();
  });

  const bypasses = (m: string) => [
    `ls x; touch ${m}`,
    `ls $(touch ${m})`,
    `ls \`touch ${m}\``,
    `ls x | touch ${m}`,
    `ls x && touch ${m}`,
    `ls x & touch ${m}`,
    `ls x || touch ${m}`,
    `ls x\ntouch ${m}`,
    `ls x\rtouch ${m}`,
    `ls "$(touch ${m})"`,
    `ls "\`touch ${m}\`"`,
    `ls > ${m}`,
    `ls x >> ${m}`,
    `ls < /etc/shadow`,
    `ls (touch ${m})`,
    'cat /tmp/motd /etc/shadow',
    'ls x y',
  ];

  it('with allow: ["ls *", "cat /tmp/*"], every bypass is ERR_NOT_ALLOWED on every node and the marker is never made', async () => {
    for (const cmd of bypasses(marker)) {
      const r = await runJob(ls.engine, `SSH:EXEC:node[01-02]:${cmd}`);
      expect(r.view.state, cmd).toBe('failed');
      expect(r.view.error?.code, cmd).toBe('ERR_NOT_ALLOWED');
      expect(errorOf(r.events, 'node01'), cmd).toMatch(/^ERR_NOT_ALLOWED: .* is not allowed by exec\.allow \(ls \*, cat \/tmp\/\*\)/);
      expect(errorOf(r.events, 'node02'), cmd).toMatch(/^ERR_NOT_ALLOWED: /);
      expect(r.events.some((e) => e.type === 'OUTPUT' || e.type === 'EXIT'), cmd).toBe(false);
      expect(fs.existsSync(marker), cmd).toBe(false);
    }
    expect(ls.backends.ssh.stats.connects).toBe(0); // refused before any connection
  });

  it('the message names what was refused without replaying control characters', async () => {
    const r = await runJob(ls.engine, `SSH:EXEC:node01:ls x\ntouch ${marker}`);
    const msg = errorOf(r.events, 'node01') ?? '';
    expect(msg).toContain('"ls x\\ntouch ');
    expect(msg).toMatch(/a newline \(it separates commands\) at column 5/);
    expect(msg).not.toContain('\n');
  });

  it('ls /tmp still runs, and a quoted metacharacter reaches ls as one literal argument', async () => {
    fs.writeFileSync(path.join(cluster.workDir, 'seen'), '');
    const r = await runJob(ls.engine, `SSH:EXEC:node01:ls ${cluster.workDir}`);
    expect(r.view.ok).toBe(1);
    expect(outputOf(r.events, 'node01')).toContain('stdout:seen');
    const q = await runJob(ls.engine, `SSH:EXEC:node01:ls 'x; touch ${marker}'`);
    expect(q.view.failed).toBe(1); // ls: cannot access 'x; touch …': no such file
    expect(outputOf(q.events, 'node01').join('\n')).toContain(`x; touch ${marker}`);
    expect(r.events.concat(q.events).some((e) => e.type === 'ERROR')).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('the documented example "systemctl status *" allows one unit and nothing more', async () => {
    const h = await openEngine(cluster.vacmYaml({ top: 'exec:\n  allow: ["systemctl status *"]' }));
    try {
      for (const cmd of [`systemctl status sshd; touch ${marker}`, `systemctl status $(touch ${marker})`, `systemctl status x | touch ${marker}`, 'systemctl stop sshd', 'systemctl status a b']) {
        const r = await runJob(h.engine, `SSH:EXEC:node01:${cmd}`);
        expect(r.view.error?.code, cmd).toBe('ERR_NOT_ALLOWED');
      }
      // allowed: it runs (systemctl may be missing on the node: any exit code, but no refusal)
      const ok = await runJob(h.engine, `SSH:EXEC:node01:systemctl status 'sshd;touch ${marker}'`);
      expect(ok.events.some((e) => e.type === 'EXIT' && e.node === 'node01')).toBe(true);
      expect(errorOf(ok.events, 'node01')).toBeUndefined();
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await closeEngine(h);
    }
  });

  it('a {shell: "..."} entry allows its exact pipeline, and only that', async () => {
    const pipeMarker = path.join(cluster.workDir, 'pipe');
    const h = await openEngine(cluster.vacmYaml({ top: `exec:\n  allow: [{shell: "echo pipe-ok | tr a-z A-Z > ${pipeMarker}; cat ${pipeMarker}"}]` }));
    try {
      const r = await runJob(h.engine, `SSH:EXEC:node01:echo pipe-ok | tr a-z A-Z > ${pipeMarker}; cat ${pipeMarker}`);
      expect(r.view.ok).toBe(1);
      expect(outputOf(r.events, 'node01')).toEqual(['stdout:PIPE-OK']);
      for (const cmd of [`echo pipe-ok | tr a-z A-Z > ${pipeMarker}; cat ${pipeMarker}; touch ${marker}`, `echo pipe-ok | tr a-z A-Z > ${marker}`, 'echo pipe-ok']) {
        const x = await runJob(h.engine, `SSH:EXEC:node01:${cmd}`);
        expect(x.view.error?.code, cmd).toBe('ERR_NOT_ALLOWED');
      }
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await closeEngine(h);
    }
  });

  it('allow: ["*"] (the default) still means anything, shell syntax included: the same bypass runs', async () => {
    const anyMarker = path.join(cluster.workDir, 'any');
    const h = await openEngine(cluster.vacmYaml({ top: 'exec:\n  allow: ["*"]' }));
    try {
      const r = await runJob(h.engine, `SSH:EXEC:node01:ls x; touch ${anyMarker}`);
      expect(errorOf(r.events, 'node01')).toBeUndefined();
      expect(fs.existsSync(anyMarker)).toBe(true);
    } finally {
      await closeEngine(h);
    }
  });
});
