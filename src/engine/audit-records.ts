/**
 * What the audit log is told about a job: the record of its attempt and of its outcome, and of a
 * request refused before it became a job. audit.ts writes them; this builds them.
 */
import { toVacmError, type VacmError } from '../protocol/errors.js';
import type { Request } from '../protocol/ipc.js';
import { maskRequestLine } from '../protocol/vars.js';
import { NodeSet } from '../protocol/nodeset.js';
import type { CommandDef, JobOrigin } from '../protocol/module.js';
import type { AuditIdentity, AuditLog, AuditRecord } from './audit.js';
import type { Job } from './job.js';

/** What an audit record is written from: a Job, or a request refused before it became one. */
export interface AuditedJob {
  id: number;
  user: string;
  origin?: JobOrigin;
  req: Request;
  cmd: CommandDef;
  targets: readonly string[];
  targetsFolded: string;
}

/**
 * What an audit record names as the targets: the resolved nodes, folded; for a command whose nodes
 * are not in the nodelist yet (ADOPT), the requested set as given, and its size.
 */
export function auditTargets(job: AuditedJob): { targets: string; count: number } {
  if (job.targets.length > 0 || !job.cmd.outsideNodelist || job.req.nodes.trim() === '') return { targets: job.targetsFolded, count: job.targets.length };
  let count = 0;
  try {
    count = NodeSet.parse(job.req.nodes).size;
  } catch {
    /* a set that does not parse: the job itself says why */
  }
  return { targets: job.req.nodes, count };
}

/** What every record says: when, who (the process's identity), which job, what it asked, on which nodes. */
function auditHead(identity: AuditIdentity, phase: 'attempt' | 'outcome', job: AuditedJob): AuditRecord {
  return {
    ts: new Date().toISOString(),
    phase,
    job: job.id,
    user: job.user,
    ...identity,
    // who came through which door of vacm serve (absent for this process's own requests)
    ...(job.origin ? { door: job.origin.door, addr: job.origin.addr, key: job.origin.key, role: job.origin.role } : {}),
    // one place where the request is recorded: a secret SET_VAR's value is masked here
    request: maskRequestLine(job.req.line),
    ...auditTargets(job),
  };
}

/** A job's attempt record (before it runs) or outcome record (with its counts and results). */
export function auditRecord(identity: AuditIdentity, job: Job, phase: 'attempt' | 'outcome', state?: string, err?: { code: string; message: string }): AuditRecord {
  const rec = auditHead(identity, phase, job);
  if (job.auditDetail) rec.detail = job.auditDetail;
  if (phase === 'outcome') {
    const { ok, failed } = job.counts();
    rec.state = state;
    rec.ok = ok;
    rec.failed = failed;
    if (err) rec.error = `${err.code}: ${err.message}`;
    rec.results = Object.fromEntries(job.results);
  }
  return rec;
}

/** Audit a request refused before it became a job (ERR_READ_ONLY); returns why it could not be, if so. */
export function auditRefusal(audit: AuditLog, job: Omit<AuditedJob, 'targetsFolded'>, ve: VacmError, log: (level: 'error', message: string) => void): string | undefined {
  const targetsFolded = job.targets.length === 0 ? '' : NodeSet.fromNames(job.targets).fold();
  const rec = { ...auditHead(audit.identity, 'outcome', { ...job, targetsFolded }), state: 'refused', ok: 0, failed: 0, error: `${ve.code}: ${ve.message}` };
  try {
    audit.append(rec);
    return undefined;
  } catch (e) {
    const ae = toVacmError(e, 'ERR_AUDIT');
    log('error', `${ae.code}: the refusal of ${job.req.tag}:${job.req.command} was not recorded: ${ae.message}`);
    return `${ae.code}: ${ae.message}`;
  }
}
