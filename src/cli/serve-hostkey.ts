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

/** how many keys are made before giving up on one that parses (each fails with p = 1/256) */
const KEYGEN_TRIES = 16;

/**
 * A new ed25519 host key pair that ssh2 reads back. ssh2's generateKeyPairSync strips the leading
 * zero bytes of the public key, so about one key in 256 (a public key starting with 0x00) is written
 * in a form its own parseKey refuses as "Malformed OpenSSH private key" (mscdex/ssh2 issues 1390,
 * 1513): a first `vacm serve` then stopped with ERR_STATE_DIR. Such a key is made again.
 */
export function newHostKeyPair(utils: Ssh2['utils']): { private: string; public: string } {
  for (let i = 0; i < KEYGEN_TRIES; i++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: 'vacm serve' });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new VacmError('ERR_STATE_DIR', `could not make a serve host key that parses in ${KEYGEN_TRIES} tries; check the ssh2 package`);
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
    const pair = newHostKeyPair(ssh2.utils);
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
