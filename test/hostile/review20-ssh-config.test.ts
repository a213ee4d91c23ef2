/**
 * review20: vacm applies ssh_config Host blocks as OpenSSH's own `ssh -G` does (case-sensitive
 * patterns, a comma is no list separator on Host lines). Looser matching applied `Host TEST*` with
 * `StrictHostKeyChecking no` to test01, whose key ssh itself keeps checking.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexSshConfig, parseSshConfig, resolveHostConfig } from '../../src/backends/ssh/ssh-config.js';
import { tempDir } from '../helpers/engine.js';

const CONFIG = [
  'Host node1 NODE2',
  '  Port 2201',
  'Host node1,node9',
  '  User alice',
  'Host *.ib !bad.ib',
  '  Port 2300',
  'Host TEST*',
  '  StrictHostKeyChecking no',
  'Host *',
  '  User fallback',
  '  Port 22',
  '',
].join('\n');

function sshG(file: string, host: string) {
  const r = spawnSync('ssh', ['-F', file, '-G', host], { encoding: 'utf8' });
  const v = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(r.stdout)?.[1];
  return { port: Number(v('port')), user: v('user'), strict: v('stricthostkeychecking') === 'false' ? 'no' : 'default' };
}

const noSsh = spawnSync('ssh', ['-V']).error !== undefined;
if (noSsh) console.warn('skipped: OpenSSH client `ssh` is not installed (apt-get install openssh-client)');

describe.skipIf(noSsh)('ssh_config Host lines, as ssh -G reads them', () => {
  it('case-sensitive patterns, no comma lists on Host lines, with and without the index', () => {
    const file = path.join(tempDir('vacm-r20-sshcfg-'), 'config');
    fs.writeFileSync(file, CONFIG);
    const blocks = parseSshConfig(CONFIG);
    const index = indexSshConfig(blocks);
    for (const host of ['node1', 'NODE1', 'node2', 'NODE2', 'node9', 'x.ib', 'bad.ib', 'BAD.IB', 'test01', 'TEST01']) {
      const want = { host, ...sshG(file, host) };
      for (const ours of [resolveHostConfig(blocks, host, index), resolveHostConfig(blocks, host)]) {
        expect({ host, port: ours.port, user: ours.user, strict: ours.strictHostKeyChecking === 'no' ? 'no' : 'default' }).toEqual(want);
      }
    }
  });
});
