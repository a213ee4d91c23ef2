/**
 * The audit log: one JSON object a line in <stateDir>/audit.jsonl, fsync'd before the action starts,
 * so that a crash loses no record of what was attempted.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { VacmError } from '../protocol/errors.js';

export interface AuditRecord {
  ts: string;
  phase: 'attempt' | 'outcome';
  user: string;
  host: string;
  job: number;
  request: string;
  targets: string;
  count: number;
  state?: string;
  ok?: number;
  failed?: number;
  error?: string;
  results?: Record<string, string>;
}

export function currentUser(): string {
  const sudo = process.env.SUDO_USER;
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return sudo && sudo !== name ? `${sudo} (as ${name})` : name;
}

export class AuditLog {
  readonly file: string;
  private fd: number | undefined;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'audit.jsonl');
  }

  /** Append one record and fsync it; throws ERR_AUDIT when that is impossible (the action must not run). */
  append(rec: AuditRecord): void {
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        this.fd = fs.openSync(this.file, 'a', 0o600);
      }
      fs.writeSync(this.fd, JSON.stringify(rec) + '\n');
      fs.fsyncSync(this.fd);
    } catch (err) {
      throw new VacmError('ERR_AUDIT', `cannot write the audit log ${this.file}: ${(err as Error).message}; fix its permissions or set VACM_STATE_DIR`, { cause: err });
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
  }
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VACM_STATE_DIR) return path.resolve(env.VACM_STATE_DIR);
  return path.join(env.HOME ?? os.homedir(), '.local', 'state', 'vacm');
}
