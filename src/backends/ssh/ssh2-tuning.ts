/**
 * Two costs ssh2 pays on every connection that vacm does not need to (docs/performance.md, row 1),
 * each removed without changing what goes over the wire or what is checked:
 *
 * - ssh2 signs with the key's PEM text, which OpenSSL 3 decodes on every signature (~1 ms of CPU
 *   for an ed25519 key; ~0.09 ms with a KeyObject): `decodedSigner` decodes it once, when the key
 *   file is read, and signs with the same algorithm and hash.
 * - OpenSSH's sshd announces its host keys after login (hostkeys-00@openssh.com); ssh2 answers with
 *   hostkeys-prove-00 (a round trip; the node signs with every host key, RSA included, and ssh2
 *   parses and verifies each) only to emit a 'hostkeys' event, which vacm never listens to: it
 *   learns host keys from known_hosts and accept-new alone. `ignoreHostKeysAnnouncement` answers
 *   that announcement as ssh would with UpdateHostKeys off: it is not acted on.
 *
 * Both reach into ssh2's objects; when they do not look as expected (another ssh2 version), they
 * leave ssh2 as it is.
 */
import crypto from 'node:crypto';
import type { Client, ParsedKey } from 'ssh2';

/** keys decodedSigner made: they sign here, in this process (an agent's keys are never in it) */
const signsHere = new WeakSet<object>();

/** `key` signing with a KeyObject decoded once; `key` itself (unchanged) when that is not possible. */
export function decodedSigner(key: ParsedKey): ParsedKey {
  const hashSym = Object.getOwnPropertySymbols(key).find((s) => s.description === 'Hash Algorithm');
  if (!hashSym || typeof key.sign !== 'function' || typeof key.getPrivatePEM !== 'function') return key;
  const pem = key.getPrivatePEM();
  if (typeof pem !== 'string' || pem === '') return key;
  let decoded: crypto.KeyObject;
  try {
    decoded = crypto.createPrivateKey(pem);
  } catch {
    return key;
  }
  const defaultHash = (key as unknown as Record<symbol, string | null | undefined>)[hashSym] ?? null;
  // ssh2's own sign (keyParser.js BaseKey.sign), with the decoded key in place of the PEM
  key.sign = (data: Buffer | string, algo?: string): Buffer => {
    try {
      return crypto.sign(algo && typeof algo === 'string' ? algo : defaultHash, typeof data === 'string' ? Buffer.from(data) : data, decoded);
    } catch (err) {
      return err as Buffer; // ssh2 returns the error (it checks `instanceof Error`)
    }
  };
  signsHere.add(key);
  return key;
}

interface Ssh2Internals {
  _protocol?: { _handlers?: Record<string, unknown>; requestSuccess?: () => void; authPK?: AuthPK; service?: (name: string) => void };
}
type SignCallback = (buf: Buffer, cb: (signature: Buffer) => void) => void;
type AuthPK = (username: string, key: unknown, keyAlgo?: string | SignCallback, cbSign?: SignCallback) => void;

/** the hash ssh2 signs with for a key algorithm (client.js getKeyAlgos; undefined: the key's own) */
const RSA_HASH: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512', 'ssh-rsa': 'sha1' };

/**
 * Log in with an identity file's key in one request (the signed USERAUTH_REQUEST, RFC 4252 7)
 * instead of ssh2's two: a query without a signature, the server's PK_OK, then the signed request.
 * The query saves a signature when the key is not accepted, and is the only way to ask an agent
 * (whose keys may need a confirmation) which key to use; for a key decoded in this process a
 * signature costs ~0.1 ms, and the round trip is one more privileged authorized_keys check in sshd
 * per connection. Only keys `decodedSigner` made take this way; agent keys keep the query. The
 * request signed is the one ssh2 signs after PK_OK (the same fields, algorithm and hash); a failure
 * answers as a refused query does (ssh2 tries the next key); if signing fails, the query is sent
 * instead, and ssh2 reports the error as before.
 */
export function signWithoutQuery(client: Client): void {
  const proto = (client as unknown as Ssh2Internals)._protocol;
  const authPK = proto?.authPK;
  if (!proto || typeof authPK !== 'function') return;
  proto.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    if (cbSign !== undefined || typeof keyAlgo === 'function' || typeof key !== 'object' || key === null || !signsHere.has(key)) return authPK.call(this, username, key, keyAlgo, cbSign);
    const signer = key as ParsedKey;
    let failed = false;
    authPK.call(this, username, key, keyAlgo, (buf, cb) => {
      const signature = signer.sign(buf, keyAlgo === undefined ? undefined : RSA_HASH[keyAlgo]);
      if (signature instanceof Error) failed = true;
      else cb(signature);
    });
    // nothing was sent: ask as ssh2 would, and let its own path meet the error
    if (failed) authPK.call(this, username, key, keyAlgo);
  };
}

/** Do not prove the host keys sshd announces after login (see above); other global requests as ssh2 does. */
export function ignoreHostKeysAnnouncement(client: Client): void {
  const proto = (client as unknown as Ssh2Internals)._protocol;
  const handlers = proto?._handlers;
  const inner = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof inner !== 'function') return;
  handlers.GLOBAL_REQUEST = (p: unknown, name: string, wantReply: boolean, data: unknown) => {
    if (name !== 'hostkeys-00@openssh.com') return (inner as (...a: unknown[]) => unknown)(p, name, wantReply, data);
    // what ssh2 itself answers to it (OpenSSH sends it without want-reply)
    if (wantReply) proto.requestSuccess?.();
    return undefined;
  };
}

/**
 * Start logging in without waiting for SERVICE_ACCEPT: ssh2 asks for the ssh-userauth service once
 * the keys are exchanged and sends its first USERAUTH_REQUEST only when the server has accepted,
 * a round trip per connection. A server that sends EXT_INFO after its NEWKEYS (OpenSSH, RFC 8308)
 * takes the request in order behind the SERVICE_REQUEST, so the login starts when EXT_INFO has come
 * (its server-sig-algs choose the RSA signature algorithm, as before) and the accept that follows is
 * not acted on a second time. A server that sends no EXT_INFO is waited for, as before; a server
 * that refuses the service disconnects, as before, with the request behind it unread.
 */
export function loginWithoutServiceWait(client: Client): void {
  const proto = (client as unknown as Ssh2Internals)._protocol;
  const handlers = proto?._handlers;
  const service = proto?.service;
  const accept = handlers?.SERVICE_ACCEPT;
  const extInfo = handlers?.EXT_INFO;
  if (!proto || !handlers || typeof service !== 'function' || typeof accept !== 'function' || typeof extInfo !== 'function') return;
  let asked = false;
  let started = false;
  proto.service = function (this: unknown, name: string) {
    service.call(this, name);
    if (name === 'ssh-userauth') asked = true;
  };
  handlers.EXT_INFO = (p: unknown, ...rest: unknown[]) => {
    (extInfo as (...a: unknown[]) => unknown)(p, ...rest);
    if (asked && !started) {
      started = true;
      (accept as (...a: unknown[]) => unknown)(p, 'ssh-userauth');
    }
  };
  handlers.SERVICE_ACCEPT = (p: unknown, name: unknown) => {
    // the login this accept would start has started
    if (name === 'ssh-userauth' && started) return;
    (accept as (...a: unknown[]) => unknown)(p, name);
  };
}
