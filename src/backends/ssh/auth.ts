/**
 * Authentication both ways: the keys vacm offers (ssh-agent, then identity files, with why each
 * was skipped) and the host key it accepts (known_hosts, @revoked, accept-new; read-only keeps a
 * new key in memory). ssh2 itself is loaded on the first connect.
 */
import fs from 'node:fs';
import type { AnyAuthMethod, ParsedKey } from 'ssh2';
import { VacmError } from '../../protocol/errors.js';
import { peerText } from '../../protocol/visible.js';
import { appendKnownHost, blobKeyType, checkHostKey, fingerprint, knownHostName, knownHostsFor, knownKeyTypes, type KnownHostEntry } from './known-hosts.js';
import { DEFAULT_IDENTITIES, type SshTarget } from './targets.js';
import { decodedSigner } from './ssh2-tuning.js';

export type Ssh2 = typeof import('ssh2');
let ssh2Loading: Promise<Ssh2> | undefined;
let ssh2: Ssh2 | undefined;

/**
 * ssh2 is loaded on the first connect: vacm commands that never SSH start ~0.1 s sooner. It loads
 * one turn of the event loop later (setImmediate): net defers the connect(2) of a socket to an
 * address to process.nextTick, so the sockets the first connects opened (pool.ts, EarlySocket)
 * reach the kernel, and sshd starts on them, before ~60 ms of loading holds the event loop.
 */
export async function loadSsh2(): Promise<Ssh2> {
  ssh2Loading ??= new Promise<void>((r) => setImmediate(r)).then(() => import('ssh2')).then((m) => (ssh2 = ((m as { default?: Ssh2 }).default ?? m) as Ssh2));
  return ssh2Loading;
}

const PREFERRED_HOST_KEYS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** The keys offered for a target, and what was tried and skipped (for the error that names them). */
export interface AuthOffer {
  methods: AnyAuthMethod[];
  tried: string[];
  skipped: string[];
}

export class SshAuth {
  private readonly keyCache = new Map<string, { mtimeMs: number; key: ParsedKey | Error }>();
  /** host keys accepted (accept-new) while read-only: remembered for this process, never written */
  private readonly acceptedInMemory: KnownHostEntry[] = [];

  /** vacm runs read-only: accept-new keeps new host keys in memory and writes no known_hosts */
  constructor(public readOnly: boolean) {}

  private loadKey(file: string): ParsedKey | Error | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    const c = this.keyCache.get(file);
    if (c && c.mtimeMs === st.mtimeMs) return c.key;
    let key: ParsedKey | Error;
    try {
      const parsed = ssh2!.utils.parseKey(fs.readFileSync(file));
      key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!(key instanceof Error)) key = decodedSigner(key);
    } catch (err) {
      key = err as Error;
    }
    this.keyCache.set(file, { mtimeMs: st.mtimeMs, key });
    return key;
  }

  /**
   * Whether `methods` may find a key to offer: the agent, or an identity file that exists and is
   * not known (from an earlier parse of the same file) to be unusable. Cheap, without ssh2: the
   * pool opens its TCP connection before loading ssh2 only when there may be something to log in with.
   */
  mayOffer(t: SshTarget): boolean {
    if (t.agent) return true;
    return t.identities.some((f) => {
      let st: fs.Stats;
      try {
        st = fs.statSync(f);
      } catch {
        return false;
      }
      const c = this.keyCache.get(f);
      return !(c && c.mtimeMs === st.mtimeMs && c.key instanceof Error);
    });
  }

  /** `agentWanted`: the ssh section asks for the agent; `agentSock`: $SSH_AUTH_SOCK. */
  methods(t: SshTarget, agentWanted: boolean, agentSock: string | undefined): AuthOffer {
    const methods: AnyAuthMethod[] = [];
    const tried: string[] = [];
    const skipped: string[] = [];
    if (t.agent) {
      methods.push({ type: 'agent', username: t.user, agent: t.agent });
      tried.push(`ssh-agent (${t.agent})`);
    } else if (agentWanted && !agentSock) {
      skipped.push('ssh-agent (SSH_AUTH_SOCK is not set)');
    }
    for (const f of t.identities) {
      const k = this.loadKey(f);
      if (k === undefined) {
        if (!t.defaultIdentities) skipped.push(`${f} (missing)`);
        continue;
      }
      if (k instanceof Error) {
        skipped.push(`${f} (${/encrypted|passphrase/i.test(k.message) ? 'encrypted: load it into ssh-agent with ssh-add' : k.message})`);
        continue;
      }
      methods.push({ type: 'publickey', username: t.user, key: k });
      tried.push(f);
    }
    if (t.defaultIdentities && !methods.some((m) => m.type === 'publickey')) skipped.push(`no key in ${DEFAULT_IDENTITIES.join(', ')}`);
    return { methods, tried, skipped };
  }

  verifyHostKey(t: SshTarget, blob: Buffer): VacmError | undefined {
    const name = knownHostName(t.host, t.port);
    const entries = [...knownHostsFor([...t.knownHosts, ...t.globalKnownHosts], name), ...this.acceptedInMemory];
    const r = checkHostKey(entries, [name], blob);
    if (r.status === 'ok') return undefined;
    const desc = `${peerText(blobKeyType(blob), 64)} ${fingerprint(blob)}`;
    if (r.status === 'revoked') return new VacmError('ERR_HOSTKEY', `the host key of ${name} (${desc}) is marked @revoked in ${r.entry.file}:${r.entry.line}; refusing to connect`);
    if (r.status === 'changed') {
      return new VacmError('ERR_HOSTKEY', `the host key of ${name} has CHANGED (now ${desc}) and does not match ${r.entry.file}:${r.entry.line}. Someone may be intercepting, or the node was reinstalled: if you expect the change, remove line ${r.entry.line} of ${r.entry.file} (ssh-keygen -R '${name}' -f ${r.entry.file}) and connect again`);
    }
    if (t.strict === 'yes') {
      return new VacmError('ERR_HOSTKEY', `the host key of ${name} (${desc}) is not known in ${t.knownHosts.join(', ')}; add it (ssh-keyscan -p ${t.port} ${t.host} >> ${t.knownHosts[0]}) or set ssh.strict_host_key_checking: accept-new`);
    }
    if (t.strict === 'accept-new' && this.readOnly) {
      // read-only writes no files: the key is trusted for this process only, as accept-new would
      this.acceptedInMemory.push({ file: '(accepted in memory: vacm runs read-only)', line: this.acceptedInMemory.length + 1, hosts: name, keyType: blobKeyType(blob), key: blob.toString('base64') });
      return undefined;
    }
    if (t.strict === 'accept-new') {
      try {
        appendKnownHost(t.knownHosts[0], name, blob);
      } catch (err) {
        return new VacmError('ERR_HOSTKEY', `cannot record the new host key of ${name} in ${t.knownHosts[0]}: ${(err as Error).message}`);
      }
    }
    return undefined;
  }

  /** Host key algorithms, those known_hosts already has for this host first, as ssh does. */
  hostKeyAlgorithms(t: SshTarget): string[] {
    const name = knownHostName(t.host, t.port);
    const known = knownKeyTypes([...knownHostsFor([...t.knownHosts, ...t.globalKnownHosts], name), ...this.acceptedInMemory], [name]);
    const knownAlgs = PREFERRED_HOST_KEYS.filter((a) => known.includes(a) || (a.startsWith('rsa-sha2') && known.includes('ssh-rsa')));
    return [...knownAlgs, ...PREFERRED_HOST_KEYS.filter((a) => !knownAlgs.includes(a))];
  }
}
