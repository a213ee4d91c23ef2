/**
 * The audit log: one JSON object a line in <stateDir>/audit.jsonl, fsync'd before the action starts,
 * so that a crash loses no record of what was attempted. Each record says who ran it as the kernel
 * knows it (real and effective uid, the login uid that su and sudo do not change, the controlling
 * tty, the pid and a per-process id), not as the environment claims it ($SUDO_USER is recorded only
 * as `claimed_user`: anyone can set it). The file is opened through src/platform/state-files.ts
 * (never through a symlink, mode 0600) and reopened when it was moved away (logrotate) or on
 * `reopen()` (serve's SIGHUP). docs/decisions.md, "Audit", lists every field.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { VacmError } from '../protocol/errors.js';
import { openStateFile } from '../platform/state-files.js';
import { jsonText } from '../protocol/events.js';

export const AUDIT_FILE = 'audit.jsonl';

/** Who and where: the same in every record a process writes. */
export interface AuditIdentity {
  /** a random id per process: with `job` it names one job even when processes' job ids collide */
  proc: string;
  pid: number;
  /** the real and effective uid */
  uid?: number;
  euid?: number;
  /** /proc/self/loginuid (set at login, kept across su and sudo); absent where the kernel has none */
  loginuid?: number;
  login_user?: string;
  /** $SUDO_USER, which anyone can set: a claim, never taken as the user */
  claimed_user?: string;
  /** the controlling terminal (pts/3, tty1), absent when there is none */
  tty?: string;
  host: string;
}

export interface AuditRecord extends AuditIdentity {
  ts: string;
  /** attempt before the action, outcome after; a refusal has only an outcome (state: refused) */
  phase: 'attempt' | 'outcome';
  /** who the engine runs the job for (see currentUser) */
  user: string;
  /** vacm serve: the door (ssh, socket), the source address, the key's fingerprint, the user's role */
  door?: string;
  addr?: string;
  key?: string;
  role?: string;
  /** the job id (0: refused before a job was made) */
  job: number;
  request: string;
  targets: string;
  count: number;
  state?: string;
  ok?: number;
  failed?: number;
  error?: string;
  results?: Record<string, string>;
  /** what the command adds to its record (SSH:PUSH: the source, its bytes and sha256) */
  detail?: Readonly<Record<string, string>>;
}

const NO_LOGINUID = 4294967295;

/** /proc/self/loginuid, or undefined when unset (4294967295) or unknown (not Linux, no audit support). */
export function loginUid(): number | undefined {
  try {
    const n = Number(fs.readFileSync('/proc/self/loginuid', 'utf8').trim());
    return Number.isInteger(n) && n >= 0 && n !== NO_LOGINUID ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The name of `uid` from /etc/passwd, or undefined (the number stays authoritative). */
export function userNameOf(uid: number, passwd = '/etc/passwd'): string | undefined {
  try {
    const fd = fs.openSync(passwd, 'r');
    try {
      const buf = Buffer.alloc(1 << 20); // a bounded read: /etc/passwd is small, a hostile one is not read whole
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      for (const line of buf.subarray(0, n).toString('utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 3 && f[2] === String(uid) && /^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(f[0])) return f[0];
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* no passwd file: the uid alone */
  }
  return undefined;
}

/** The tty named by a tty_nr of /proc/<pid>/stat (Linux device numbers), or undefined for none. */
export function ttyName(ttyNr: number): string | undefined {
  if (!Number.isInteger(ttyNr) || ttyNr <= 0) return undefined;
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  if (major === 5 && minor === 1) return 'console';
  return `dev ${major}:${minor}`;
}

/** This process's controlling terminal, from /proc/self/stat (field 7, after the parenthesised name). */
export function controllingTty(stat = '/proc/self/stat'): string | undefined {
  try {
    const s = fs.readFileSync(stat, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ttyName(Number(rest[4]));
  } catch {
    return undefined;
  }
}

/** $SUDO_USER is anyone's to set: capped (JSON.stringify escapes its controls). */
function claim(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v.slice(0, 256);
}

export function processIdentity(env: NodeJS.ProcessEnv = process.env): AuditIdentity {
  const id: AuditIdentity = { proc: crypto.randomBytes(6).toString('hex'), pid: process.pid, host: os.hostname() };
  if (typeof process.getuid === 'function') id.uid = process.getuid();
  if (typeof process.geteuid === 'function') id.euid = process.geteuid();
  const lu = loginUid();
  if (lu !== undefined) {
    id.loginuid = lu;
    const name = userNameOf(lu);
    if (name !== undefined) id.login_user = name;
  }
  const claimed = claim(env.SUDO_USER);
  if (claimed !== undefined) id.claimed_user = claimed;
  const tty = controllingTty();
  if (tty !== undefined) id.tty = tty;
  return id;
}

/**
 * Who runs this engine, for JOBS, the screen and the audit's `user`: the effective user, and the
 * login user in front of it when they differ (`alice (as root)` after `sudo` or `su`, from the
 * kernel's login uid). $SUDO_USER is not believed: anyone can set it.
 */
export function currentUser(identity: Pick<AuditIdentity, 'login_user' | 'loginuid'> = { login_user: undefined }): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    name = typeof process.geteuid === 'function' ? `uid ${process.geteuid()}` : 'unknown';
  }
  const login = identity.login_user ?? (identity.loginuid !== undefined ? `uid ${identity.loginuid}` : undefined);
  return login !== undefined && login !== name ? `${login} (as ${name})` : name;
}

export class AuditLog {
  readonly file: string;
  readonly identity: AuditIdentity;
  private fd: number | undefined;
  /** device and inode of the open file: when audit.jsonl is no longer it (moved away), reopen */
  private opened: { dev: number; ino: number } | undefined;

  constructor(readonly stateDir: string, identity: AuditIdentity = processIdentity()) {
    this.file = path.join(stateDir, AUDIT_FILE);
    this.identity = identity;
  }

  /** Append one record and fsync it; throws ERR_AUDIT when that is impossible (the action must not run). */
  append(rec: AuditRecord): void {
    try {
      if (this.fd !== undefined && this.rotated()) this.reopen();
      if (this.fd === undefined) {
        this.fd = openStateFile(this.stateDir, AUDIT_FILE);
        const st = fs.fstatSync(this.fd);
        this.opened = { dev: st.dev, ino: st.ino };
      }
      fs.writeSync(this.fd, jsonText(rec) + '\n');
      fs.fsyncSync(this.fd);
    } catch (err) {
      // the state dir's own messages name the file and the fix
      const msg = err instanceof VacmError ? `cannot write the audit log: ${err.message}` : `cannot write the audit log ${this.file}: ${(err as Error).message}; fix its permissions or set VACM_STATE_DIR`;
      throw new VacmError('ERR_AUDIT', msg, { cause: err });
    }
  }

  /** audit.jsonl is gone or is another file than the one open (logrotate moved it): reopen by name. */
  private rotated(): boolean {
    try {
      const st = fs.lstatSync(this.file);
      return this.opened === undefined || st.ino !== this.opened.ino || st.dev !== this.opened.dev;
    } catch {
      return true;
    }
  }

  /** Close the file; the next record opens audit.jsonl by name again (SIGHUP after logrotate). */
  reopen(): void {
    this.close();
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
      this.opened = undefined;
    }
  }
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VACM_STATE_DIR) return path.resolve(env.VACM_STATE_DIR);
  return path.join(env.HOME ?? os.homedir(), '.local', 'state', 'vacm');
}
