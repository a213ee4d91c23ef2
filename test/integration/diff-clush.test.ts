/**
 * `vacm ipc --diff` against `clush --diff` on the same real sshd nodes (test/fixtures/sshd.ts, one
 * sshd per node answering `hostname` with its own name): the diff lines must be the same.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, sshdAvailable, startSshCluster, type SshCluster } from '../fixtures/sshd.js';
import { vacm } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';

// per node: the same head and tail, a middle that depends on the node's number; node05 exits 3
const COMMAND = 'echo begin; n=$(hostname | tr -dc 0-9); echo common; echo "mod $(expr $n % 3)"; echo end; [ "$n" = 05 ] && exit 3; exit 0';

function clush(c: SshCluster, args: string[]): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    execFile('clush', ['-o', `-F ${c.sshConfig}`, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, out, e) => resolve({ out, err: e, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }));
  });
}

describe.skipIf(!sshdAvailable() || !hasBinary('clush'))('vacm ipc --diff matches clush --diff (needs root, openssh-server, clustershell)', () => {
  let c: SshCluster;
  beforeAll(async () => {
    c = await startSshCluster({ count: 6 });
  }, 60_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('the same unified diffs, in the same order, for output groups and exit statuses', async () => {
    const want = await clush(c, ['-w', c.folded, '--diff', COMMAND]);
    expect(want.out).toContain('+++ node02');
    expect(want.out).toContain('+++ node05');
    const got = await vacm(['ipc', '--config', c.vacmYamlPath, '--diff', `SSH:EXEC:${c.folded}:${COMMAND}`], { env: { VACM_STATE_DIR: path.join(tempDir(), 'state') }, timeoutMs: 60_000 });
    const diffLines = got.out.split('\n').filter((l) => !/^SSH:\d+:/.test(l)).join('\n');
    expect(diffLines).toBe(want.out);
    expect(got.err).toMatch(/^vacm: node05: exited with exit code 3$/m);
    expect(want.err).toMatch(/^clush: node05: exited with exit code 3$/m);
    expect(got.code).toBe(1);
  }, 90_000);
});
