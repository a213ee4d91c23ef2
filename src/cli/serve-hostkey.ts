/** vacm serve's SSH host key (issue 13): made on first start into the state dir, read back after. */
import path from 'node:path';
import { VacmError } from '../protocol/errors.js';
import { readStateFile, writeStateFile } from '../platform/state-files.js';
import { fingerprint } from '../backends/ssh/known-hosts.js';

export type Ssh2 = typeof import('ssh2');

export const HOST_KEY_FILE = 'serve_host_ed25519_key';

export async function loadSsh2(): Promise<Ssh2> {
  const m = (await import('ssh2')) as unknown as { default?: Ssh2 };
  return (m.default ?? m) as Ssh2;
}

/**
 * The serve's host key: read from the state dir, or made there on first start (ed25519, 0600, an
 * OpenSSH private key). Returns the key and its public half's fingerprint (as ssh-keygen -l shows it).
 */
export async function serveHostKey(stateDir: string): Promise<{ pem: Buffer; publicLine: string; fingerprint: string; created: boolean }> {
  const ssh2 = await loadSsh2();
  let pem = readStateFile(stateDir, HOST_KEY_FILE, 64 * 1024);
  let created = false;
  if (!pem) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'vacm serve' });
    pem = Buffer.from(pair.private);
    writeStateFile(stateDir, HOST_KEY_FILE, pem);
    writeStateFile(stateDir, `${HOST_KEY_FILE}.pub`, pair.public + '\n');
    created = true;
  }
  const parsed = ssh2.utils.parseKey(pem);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw new VacmError('ERR_STATE_DIR', `the serve host key ${path.join(stateDir, HOST_KEY_FILE)} does not parse (${key.message}); move it away and restart to make a new one`);
  const blob = key.getPublicSSH();
  return { pem, publicLine: `${key.type} ${blob.toString('base64')}`, fingerprint: fingerprint(blob), created };
}
