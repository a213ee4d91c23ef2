/**
 * `vacm doctor`: what an operator would otherwise find out at 3 a.m., checked in one run — the
 * config, the state dir and its audit log, the peers vacm uses, every node's reachability (ping, SSH,
 * BMC) in one sweep through the engine's own requests (ICMP_ECHO:PING, SYSSTAT:GET, POWER:STATUS;
 * all read-only, nothing is audited or changed), known_hosts entries SSH would miss, and the modes of
 * the secrets. Each finding that needs something done names the fix. Exit 1 when one does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../engine/engine.js';
import { defaultStateDir } from '../engine/audit.js';
import { findConfig, loadConfigFile, type LoadedConfig } from '../engine/config.js';
import { createBackends, type Backends } from '../backends/index.js';
import { findBinary } from '../backends/icmp/fping.js';
import { knownHostName, knownKeyTypes, readKnownHosts } from '../backends/ssh/known-hosts.js';
import { checkTrustedFile } from '../platform/trusted-file.js';
import { gatherOutputs } from '../protocol/gather.js';
import { foldNodeSet } from '../protocol/nodeset.js';
import { toVacmError } from '../protocol/errors.js';
import type { VacmEvent } from '../protocol/events.js';
import { loadConfig } from './setup.js';
import { maskControls } from '../protocol/visible.js';
import { CONFIG_SECTIONS } from './config-sections.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io } from './io.js';

export type Level = 'ok' | 'note' | 'warn' | 'fail';

export interface Finding {
  level: Level;
  /** what was checked: config, state dir, audit, peers, nodes, known_hosts, secret */
  check: string;
  message: string;
  /** what to do about it */
  fix?: string;
}

export interface DoctorArgs {
  config?: string;
  demo?: boolean;
  nodes?: number;
  stateDir?: string;
  /** seconds the node sweep may take (default 5) */
  timeoutS?: number;
  env?: NodeJS.ProcessEnv;
}

const LABEL: Record<Level, string> = { ok: 'ok  ', note: 'note', warn: 'WARN', fail: 'FAIL' };

// config values, node names and error texts may hold anything: no control character reaches the terminal
const printable = (s: string) => maskControls(s, { tab: true });

export function formatFinding(f: Finding): string {
  const head = `${LABEL[f.level]}  ${f.check.padEnd(11)} ${printable(f.message)}\n`;
  return f.fix ? head + `${' '.repeat(19)}fix: ${printable(f.fix)}\n` : head;
}

/** A VacmError message says what is wrong, then (after the last "; ") what to do: split it. */
function split(message: string): { message: string; fix?: string } {
  const i = message.lastIndexOf('; ');
  return i < 0 ? { message } : { message: message.slice(0, i), fix: message.slice(i + 2) };
}

function checkConfig(a: DoctorArgs): { findings: Finding[]; config?: LoadedConfig } {
  let file: string | undefined;
  try {
    file = findConfig(a.config, a.env ?? process.env);
    if (file) loadConfigFile(file, CONFIG_SECTIONS); // the file alone, so its errors are not mixed with --demo's nodes
    const config = loadConfig({ config: file, demo: a.demo, nodes: a.nodes });
    const groups = Object.keys(config.view.groups).length;
    const what = `${config.nodes.length} node${config.nodes.length === 1 ? '' : 's'}, ${groups} group${groups === 1 ? '' : 's'}${a.demo ? ' (with --demo)' : ''}`;
    const f: Finding = file
      ? { level: 'ok', check: 'config', message: `${file}: valid, ${what}` }
      : { level: 'warn', check: 'config', message: `no vacm.yaml found (--config, $VACM_CONFIG, ./vacm.yaml, ~/.config/vacm/vacm.yaml, /etc/vacm/vacm.yaml): ${what}`, fix: 'write /etc/vacm/vacm.yaml with your nodes (docs/config.md), or pass --config FILE' };
    return { findings: [f], config };
  } catch (err) {
    const ve = toVacmError(err, 'ERR_CONFIG');
    return { findings: [{ level: 'fail', check: 'config', message: `${ve.code}: ${ve.message}`, fix: file ? `correct ${file} at the place named (docs/config.md), then run vacm doctor again` : 'pass an existing file to --config' }] };
  }
}

/** The state dir: trusted (checkTrustedFile), private, and its audit log writable. */
export function checkStateDir(dir: string): Finding[] {
  const out: Finding[] = [];
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    /* not there yet */
  }
  if (!st) {
    let parent = path.dirname(dir);
    while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    try {
      fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
      out.push({ level: 'note', check: 'state dir', message: `${dir} does not exist yet: vacm creates it (mode 0700) on first use` });
    } catch {
      out.push({ level: 'fail', check: 'state dir', message: `${dir} does not exist and cannot be created (${parent} is not writable)`, fix: `mkdir -m 700 -p ${dir}, or set VACM_STATE_DIR to a directory you own` });
    }
    return out;
  }
  try {
    checkTrustedFile(dir, { what: 'state dir', directory: true, code: 'ERR_STATE_DIR' });
    const mode = st.mode & 0o777;
    if (mode & 0o077) out.push({ level: 'warn', check: 'state dir', message: `${dir} (mode ${mode.toString(8).padStart(4, '0')}) lets others read the audit log and the saved state`, fix: `chmod 700 ${dir}` });
    else out.push({ level: 'ok', check: 'state dir', message: `${dir}: owner uid ${st.uid}, mode ${mode.toString(8).padStart(4, '0')}` });
  } catch (err) {
    out.push({ level: 'fail', check: 'state dir', ...split(toVacmError(err, 'ERR_STATE_DIR').message) });
    return out;
  }
  const audit = path.join(dir, 'audit.jsonl');
  try {
    fs.accessSync(fs.existsSync(audit) ? audit : dir, fs.constants.W_OK);
    out.push({ level: 'ok', check: 'audit', message: `${audit} is writable` });
  } catch (err) {
    out.push({ level: 'fail', check: 'audit', message: `${audit} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}): every action that changes something would fail ERR_AUDIT`, fix: `chown $(id -un) ${fs.existsSync(audit) ? audit : dir}, or set VACM_STATE_DIR to a directory you own` });
  }
  return out;
}

/** The programs vacm runs (or that help an operator cross-check it), and which of them the config needs. */
export function checkPeers(config: LoadedConfig | undefined, find: (name: string) => string | undefined = (n) => findBinary(n)): Finding[] {
  const drivers = new Set((config?.nodes ?? []).map((n) => n.vars.power ?? ''));
  const out: Finding[] = [];
  const fping = find('fping');
  if (fping) out.push({ level: 'ok', check: 'peers', message: `fping: ${fping} (ICMP_ECHO pings every node from one process)` });
  else if (find('ping')) out.push({ level: 'warn', check: 'peers', message: 'fping is not installed: ICMP_ECHO falls back to one ping process per node (slower on large clusters)', fix: 'apt-get install fping' });
  else out.push({ level: 'fail', check: 'peers', message: 'neither fping nor ping is installed: ICMP_ECHO cannot ping', fix: 'apt-get install fping' });
  const tool = (name: string, pkg: string, driver: string, why: string) => {
    const p = find(name);
    if (p) out.push({ level: 'ok', check: 'peers', message: `${name}: ${p} (${why})` });
    else if (drivers.has(driver) && driver === 'libvirt') out.push({ level: 'fail', check: 'peers', message: `${name} is not installed, and nodes use power: ${driver}`, fix: `apt-get install ${pkg}` });
    else out.push({ level: 'note', check: 'peers', message: `${name} is not installed (${why}; vacm does not need it)`, fix: `apt-get install ${pkg} if you want it` });
  };
  tool('ipmitool', 'ipmitool', 'ipmi', 'to cross-check a BMC by hand: vacm speaks IPMI itself');
  tool('virsh', 'libvirt-clients', 'libvirt', 'the libvirt power driver runs it');
  tool('pm', 'powerman', 'powerman', "powerman's client, to cross-check: vacm talks to powermand itself");
  return out;
}

/** Agent and BMC secrets: readable by their owner only (checkTrustedFile with secret). */
export function checkSecrets(config: LoadedConfig | undefined): Finding[] {
  if (!config) return [];
  const files = new Map<string, string>();
  for (const section of ['collector', 'agent']) {
    const s = config.view.sections[section];
    const f = typeof s === 'object' && s !== null ? (s as Record<string, unknown>).secret_file : undefined;
    if (typeof f === 'string' && f !== '') files.set(f, 'agent secret');
  }
  for (const n of config.nodes) if (n.vars.bmc_password_file) files.set(n.vars.bmc_password_file, 'BMC password file');
  const out: Finding[] = [];
  for (const [file, what] of files) {
    try {
      checkTrustedFile(file, { what, secret: true });
      out.push({ level: 'ok', check: 'secret', message: `${what} ${file}: mode ${(fs.statSync(file).mode & 0o777).toString(8).padStart(4, '0')}, yours or root's` });
    } catch (err) {
      out.push({ level: 'fail', check: 'secret', ...split(toVacmError(err, 'ERR_UNSAFE_FILE').message) });
    }
  }
  return out;
}

/** Nodes SSH would be used for, whose host key is in none of the known_hosts files SSH reads. */
export function checkKnownHosts(engine: Engine, backends: Backends, names: readonly string[]): Finding[] {
  const missing = new Map<string, { nodes: string[]; hosts: string[]; port: number; file: string }>();
  let checked = 0;
  for (const node of names) {
    const vars = engine.vars(node);
    if (backends.providers.of(node, vars).selfReporting || engine.node(node)?.local) continue;
    let t;
    try {
      t = backends.ssh.resolveTarget(node, vars);
    } catch {
      continue; // a bad ssh_port: SYSSTAT's sweep reports it
    }
    if (t.strict === 'no' || t.strict === 'accept-new') continue;
    checked++;
    const entries = readKnownHosts([...t.knownHosts, ...t.globalKnownHosts]);
    const names2 = [knownHostName(t.host, t.port)];
    if (t.host !== node) names2.push(knownHostName(node, t.port));
    if (knownKeyTypes(entries, names2).length > 0) continue;
    const key = `${t.port} ${t.knownHosts[0]}`;
    const m = missing.get(key) ?? { nodes: [], hosts: [], port: t.port, file: t.knownHosts[0] };
    m.nodes.push(node);
    m.hosts.push(t.host);
    missing.set(key, m);
  }
  if (checked === 0) return [];
  if (missing.size === 0) return [{ level: 'ok', check: 'known_hosts', message: `every SSH node's host key is known (${checked} node${checked === 1 ? '' : 's'})` }];
  return [...missing.values()].map((m) => {
    const shown = m.hosts.slice(0, 16).join(' ') + (m.hosts.length > 16 ? ` ... (${m.hosts.length - 16} more)` : '');
    return {
      level: 'fail' as const,
      check: 'known_hosts',
      message: `${foldNodeSet(m.nodes)} (${m.nodes.length}): no host key in ${m.file}; SSH refuses them (ERR_HOSTKEY)`,
      fix: `check the keys out of band, then: ssh-keyscan${m.port === 22 ? '' : ` -p ${m.port}`} ${shown} >> ${m.file} (or ssh.strict_host_key_checking: accept-new)`,
    };
  });
}

const FIX: Record<string, string> = {
  ping: 'check that the node is powered (POWER:STATUS) and that its host: variable is its address',
  ERR_SSH_AUTH: "install your public key in the node's authorized_keys (ssh-copy-id) or set ssh_identity",
  ERR_HOSTKEY: 'add the host key to known_hosts (see the known_hosts finding)',
  ERR_TIMEOUT: 'check that the node is on and that host:, ssh_port: and bmc_host: are right',
  ERR_SSH_REFUSED: 'start sshd on the node, or set ssh_port: to where it listens',
  ERR_POWER_DRIVER: 'check bmc_host:, bmc_user: and the password (docs/power.md)',
};

/**
 * One sweep over every node: ICMP_ECHO:PING, SYSSTAT:GET (over SSH for remote nodes), POWER:STATUS
 * (nodes with a power driver), all at once, bounded by `timeoutS`; nodes with the same outcome are
 * folded into one finding.
 */
export async function sweepNodes(engine: Engine, timeoutS: number): Promise<Finding[]> {
  const names = engine.nodeNames();
  if (names.length === 0) return [];
  const all = foldNodeSet(names);
  const powered = names.filter((n) => (engine.vars(n).power ?? 'none') !== 'none');
  const requests: Array<[kind: 'ping' | 'ssh' | 'bmc', line: string]> = [
    ['ping', `ICMP_ECHO:PING:${all}`],
    ['ssh', `SYSSTAT:GET:${all}`],
  ];
  if (powered.length) requests.push(['bmc', `POWER:STATUS:${foldNodeSet(powered)}`]);
  const result = new Map<string, Record<'ping' | 'ssh' | 'bmc', string>>();
  for (const n of names) result.set(n, { ping: 'ping ?', ssh: 'stats ?', bmc: powered.includes(n) ? 'bmc ?' : '' });
  const errors = new Map<string, string>(); // node → first error code, for its fix
  const said = new Map<string, string>(); // node → the first error's message (it says what to do)
  const kindOf = new Map<number, 'ping' | 'ssh' | 'bmc'>();
  const off = engine.subscribe((e: VacmEvent) => {
    const kind = kindOf.get(e.job);
    if (!kind) return;
    const label = kind === 'ssh' ? 'stats' : kind;
    if (e.type === 'JOB_FAILED') {
      // the whole request failed: every node it had not answered for gets its code
      for (const r of result.values()) if (r[kind].endsWith('?')) r[kind] = `${label} ${e.code}`;
      return;
    }
    const r = 'node' in e && e.node ? result.get(e.node) : undefined;
    if (!r) return;
    const node = (e as { node: string }).node;
    if (e.type === 'PING') {
      r.ping = e.state === 'up' ? 'ping up' : 'ping down';
      if (e.state !== 'up' && !errors.has(node)) errors.set(node, 'ping');
    } else if (e.type === 'STAT') r.ssh = 'stats ok';
    else if (e.type === 'POWER') r.bmc = `power ${e.state}`;
    else if (e.type === 'ERROR') {
      r[kind] = `${label} ${e.code}`;
      if (!errors.has(node) || errors.get(node) === 'ping') {
        errors.set(node, e.code);
        said.set(node, e.message.length > 300 ? e.message.slice(0, 300) + '...' : e.message);
      }
    }
  });
  try {
    const jobs = requests.map(([kind, line]) => {
      const h = engine.submit(line);
      kindOf.set(h.id, kind);
      return h;
    });
    const deadline = setTimeout(() => jobs.forEach((j) => j.cancel()), timeoutS * 1000);
    await Promise.all(jobs.map((j) => j.done));
    clearTimeout(deadline);
  } finally {
    off();
  }
  const summaryOf = new Map(names.map((n) => {
    const r = result.get(n)!;
    return [n, [r.ping, r.ssh, r.bmc].filter(Boolean).join(', ')] as const;
  }));
  return gatherOutputs([...summaryOf].map(([n, s]) => [n, [s]] as const)).map((g): Finding => {
    const summary = g.lines[0];
    const message = `${g.nodes} (${g.count}): ${summary}`;
    if (!/\?|down|ERR_/.test(summary)) return { level: 'ok', check: 'nodes', message };
    const withCode = names.find((n) => summaryOf.get(n) === summary && errors.has(n));
    const code = withCode ? errors.get(withCode)! : undefined;
    let fix = (code && FIX[code]) ?? (summary.includes('?') ? `the sweep did not finish within ${timeoutS} s: raise --timeout, or ask these nodes one by one with vacm ipc` : FIX.ping);
    if (withCode && said.has(withCode)) fix += ` (${withCode}: ${said.get(withCode)})`;
    return { level: 'fail', check: 'nodes', message, fix };
  });
}

export async function runDoctor(a: DoctorArgs, io: Io): Promise<number> {
  let failed = false;
  const report = (fs: Finding[]) => {
    for (const f of fs) {
      if (f.level === 'fail') failed = true;
      io.out(formatFinding(f));
    }
  };
  try {
    const { findings, config } = checkConfig(a);
    report(findings);
    const stateDir = a.stateDir ?? defaultStateDir(a.env ?? process.env);
    report(checkStateDir(stateDir));
    report(checkPeers(config));
    report(checkSecrets(config));
    if (config) {
      const backends = createBackends();
      // read-only: the sweep's requests change nothing, and nothing is audited
      const engine = new Engine({ config, modules: backends.modules, readOnly: true, stateDir });
      try {
        await engine.start();
        report(checkKnownHosts(engine, backends, engine.nodeNames()));
        report(await sweepNodes(engine, a.timeoutS ?? 5));
      } finally {
        await engine.stop();
      }
    }
  } catch (err) {
    const ve = toVacmError(err, 'ERR_INTERNAL');
    io.err(`${ve.code}: ${ve.message}\n`);
    return EXIT_USAGE;
  }
  io.out(failed ? 'vacm doctor: some findings need a fix (FAIL above)\n' : 'vacm doctor: nothing to fix\n');
  return failed ? EXIT_FAILED : EXIT_OK;
}
