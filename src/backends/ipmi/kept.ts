/** A session the client keeps open for the next operation on its BMC (client.ts), and its key. */
import { createHash } from 'node:crypto';
import type { BmcTarget } from './client-options.js';
import type { Session } from './session.js';

/** A session kept open for the next operation on its BMC. */
export interface Kept {
  key: string;
  session: Session;
  /** an operation or a keep-alive is using it */
  busy: boolean;
  /** last use by an operation (keep-alives do not count) */
  lastUsed: number;
  timer?: NodeJS.Timeout;
}

/** One kept session per BMC address, port and account (the password only as a hash). */
export function keptKey(t: BmcTarget, port: number): string {
  return `${t.host}:${port}\n${t.user}\n${createHash('sha256').update(t.password).digest('base64')}`;
}
