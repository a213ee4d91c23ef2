/**
 * Issue 16 item 4, as the operator uses it: the real `node bin/vacm.js` in tmux against a real
 * OpenSSH cluster on loopback (test/fixtures/sshd.ts, one sshd per node with its own hostname).
 * `S` hands the terminal to the system ssh (typing `hostname` there answers the node's name), `exit`
 * brings the dashboard back intact; `L` on 4 marked nodes follows a file on each and shows lines the
 * test appends, and Esc stops the remote `tail -F` processes.
 * Runs under the peers lock: flock /tmp/vacm-peers.lock npx vitest run test/e2e/logshell.test.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { hasBinary, tmuxAvailable, tmuxSuite } from './tmux.js';
import { processesUnder, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { until } from '../helpers/wait.js';

describe.skipIf(!tmuxAvailable() || !sshdAvailable() || !hasBinary('ssh'))('S and L against real sshd in tmux (needs tmux, root, openssh-server and -client)', () => {
  let cluster: SshCluster;
  let dir: string | undefined;
  const session = tmuxSuite({
    before: async () => {
      cluster = await startSshCluster({ count: 4 });
      dir = tempDir('vacm-e2e-logshell-');
    },
    after: async () => {
      await cluster?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
    timeoutMs: 300_000,
  });

  it('S opens the system ssh on the cursor node: hostname answers node02, exit brings the dashboard back intact', async () => {
    const t = session('logshell-s');
    t.start(`node bin/vacm.js --config ${cluster.vacmYamlPath}`, { cwd: ROOT, env: { VACM_STATE_DIR: path.join(dir!, 'state-s') }, columns: 160, rows: 40 });
    const before = await t.waitFor((s) => s.includes('vacm · sshtest') && s.includes('node04'));
    expect(t.alternateScreenOn()).toBe(true);
    t.keys('j'); // the cursor on node02: the detail pane names it
    await t.waitFor(/node02 \w+( \(.*\))? for \S+ · power/, 10_000);
    t.keys('S');
    // the dashboard has given the terminal up: the normal screen, the login shell's prompt
    await t.waitFor('vacm: ssh to node02', 15_000);
    expect(t.alternateScreenOn()).toBe(false);
    // the prompt of /bin/sh as the test user ends in "$ "
    await t.waitFor(/\$ ?$/m, 15_000);
    t.type('hostname; echo "shell-$((6*7))"');
    t.keys('Enter');
    const inShell = await t.waitFor('shell-42', 10_000);
    expect(inShell).toMatch(/^node02\s*$/m);
    t.type('exit');
    t.keys('Enter');
    const after = await t.waitFor((s) => s.includes('vacm · sshtest') && s.includes('shell on node02 closed'), 15_000);
    expect(t.alternateScreenOn()).toBe(true);
    // intact: the same header and every node row, none of the shell's text left on the dashboard
    for (const n of cluster.nodes) expect(after).toContain(n.name);
    expect(after).not.toContain('shell-42');
    expect(after.split('\n').length).toBe(before.split('\n').length);
    // and the keys reach the dashboard again (raw mode back): ? opens the help
    t.keys('?');
    await t.waitFor('HELP · lines', 10_000);
    t.keys('Escape');
    // Esc then q at once would read as Alt-q: q only once the help is gone
    await t.waitFor((x) => !x.includes('HELP · lines'), 10_000);
    t.keys('q');
    await t.waitFor('VACM_EXITED 0', 15_000);
  }, 90_000);

  it('L on 4 marked nodes follows a file: appended lines show within a second, each behind its node; Esc stops the remote tails', async () => {
    for (const n of cluster.nodes) fs.writeFileSync(path.join(cluster.workDir, `app-${n.name}.log`), `old line on ${n.name}\n`);
    const t = session('logshell-l');
    t.start(`node bin/vacm.js --config ${cluster.vacmYamlPath}`, { cwd: ROOT, env: { VACM_STATE_DIR: path.join(dir!, 'state-l') }, columns: 160, rows: 40 });
    await t.waitFor((s) => s.includes('vacm · sshtest') && s.includes('node04'));
    t.keys('a'); // mark every shown node
    t.keys('L');
    await t.waitFor('unit or /path to follow on node[01-04]', 10_000);
    t.type(`${cluster.workDir}/app-{name}.log`);
    t.keys('Enter');
    await t.waitFor((s) => cluster.nodes.every((n) => s.includes(`old line on ${n.name}`)), 20_000);
    await until('a tail on every node', () => processesUnder(cluster, 'tail').length === 4);
    // the issue asks for the lines within 1 s; measured per append with the screen polled through
    // tmux (each capture a process), bounded at 3 s for a loaded 2-core machine, as the LOG:FOLLOW
    // integration test is
    for (const n of cluster.nodes) {
      const t0 = Date.now();
      fs.appendFileSync(path.join(cluster.workDir, `app-${n.name}.log`), `fresh ${n.name} ${t0}\n`);
      const s = await t.waitFor(`fresh ${n.name} ${t0}`, 5_000);
      expect(Date.now() - t0).toBeLessThan(3_000);
      // behind its node's name
      expect(s).toMatch(new RegExp(`^${n.name}\\s+fresh ${n.name} ${t0}`, 'm'));
    }
    // each node's prefix in its own colour (SGR on the name); not all four the same
    const coloured = t.captureColours();
    const colourOf = (name: string) => new RegExp(`(\\x1b\\[[0-9;]*m)${name} +(?:\\x1b\\[[0-9;]*m)*fresh`).exec(coloured)?.[1];
    const colours = cluster.nodes.map((n) => colourOf(n.name));
    for (const c of colours) expect(c).toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
    expect(new Set(colours).size).toBeGreaterThan(1);
    t.keys('Escape');
    await t.waitFor((s) => s.includes('vacm · sshtest') && !s.includes('unit or /path'), 10_000);
    await until('no tail left on the nodes', () => processesUnder(cluster, 'tail').length === 0, 10_000);
    expect(processesUnder(cluster, 'tail')).toEqual([]);
    // the dashboard shows the job cancelled before q (else q rightly asks about a job still running)
    await t.waitFor(/■ \S+ cancelled  LOG:FOLLOW:node\[01-04\]/, 10_000);
    t.keys('q');
    await t.waitFor('VACM_EXITED 0', 15_000);
  }, 120_000);
});
