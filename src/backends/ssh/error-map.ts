/**
 * What went wrong with SSH, in the codes and words an operator acts on: a socket or ssh2 error
 * becomes ERR_SSH_REFUSED / ERR_SSH_UNREACHABLE / ERR_SSH_AUTH (naming the keys tried and skipped)
 * / ERR_TIMEOUT / ERR_SSH_CONNECT; a peer's own text passes through peerText.
 */
import { VacmError } from '../../protocol/errors.js';
import { peerText } from '../../protocol/visible.js';
import type { SshTarget } from './targets.js';

export function where(t: SshTarget): string {
  return `${t.user}@${t.host}:${t.port}`;
}

/** A failed connect or handshake. */
export function classifyConnectError(t: SshTarget, err: Error & { code?: string; level?: string }, auth: { tried: string[]; skipped: string[] }): VacmError {
  const w = where(t);
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return new VacmError('ERR_SSH_REFUSED', `connection refused by ${t.host}:${t.port} (no sshd listening there?); check the node's host/ssh_port`, { cause: err });
  if (code === 'ETIMEDOUT' || err.level === 'client-timeout') return connectTimeoutError(t);
  if (['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN'].includes(code)) {
    return new VacmError('ERR_SSH_UNREACHABLE', `cannot reach ${t.host}:${t.port} (${code}${code === 'ENOTFOUND' ? ': unknown host name' : ''}); check the node's host variable and the network`, { cause: err });
  }
  if (err.level === 'client-authentication') {
    const parts = [`authentication failed for ${w}`, `tried: ${auth.tried.length ? auth.tried.join(', ') : 'nothing'}`];
    if (auth.skipped.length) parts.push(`skipped: ${auth.skipped.join(', ')}`);
    parts.push(`add your public key to ~${t.user}/.ssh/authorized_keys on the node, or set ssh_identity/ssh_user`);
    return new VacmError('ERR_SSH_AUTH', parts.join('; '), { cause: err });
  }
  if (code === 'ECONNRESET') return new VacmError('ERR_SSH_CONNECT', `${t.host}:${t.port} closed the connection during the handshake (sshd MaxStartups, or not an SSH server)`, { cause: err });
  // ssh2's message may be the peer's own text (a DISCONNECT reason, sent before any host key check)
  return new VacmError('ERR_SSH_CONNECT', `SSH to ${w} failed: ${peerText(err.message)}`, { cause: err });
}

export function connectTimeoutError(t: SshTarget): VacmError {
  return new VacmError('ERR_TIMEOUT', `no SSH answer from ${t.host}:${t.port} within ${t.connectTimeoutMs} ms (node down or packets dropped); raise ssh.connect_timeout_ms if it is just slow`);
}

/** A command that could not be started on an open connection. */
export function execStartError(err: unknown): Error {
  if (err instanceof VacmError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  return new VacmError('ERR_EXEC', `cannot start the command over SSH: ${peerText((err as Error)?.message ?? String(err))}`, { cause: err });
}

/** An SFTP session that could not be started (the node's sshd has no sftp subsystem). */
export function sftpStartError(err: unknown): Error {
  if (err instanceof VacmError || (err instanceof Error && err.name === 'AbortError')) return err;
  const m = peerText((err as Error)?.message ?? String(err));
  return new VacmError('ERR_UNSUPPORTED', `cannot start SFTP over SSH: ${m}; the node's sshd needs "Subsystem sftp /usr/lib/openssh/sftp-server" (or internal-sftp) in sshd_config`, { cause: err });
}
