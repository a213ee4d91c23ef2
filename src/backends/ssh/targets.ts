/**
 * Where and how to reach a node over SSH: its variables, then vacm.yaml's `ssh:` section, then
 * ~/.ssh/config (trusted only when nobody else could have written it), then OpenSSH's defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { VacmError } from '../../protocol/errors.js';
import { checkTrustedFile } from '../../platform/trusted-file.js';
import type { NodeVars } from '../../protocol/module.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type SshSection, type StrictHostKeyChecking } from './settings.js';
import { expandSshPath, indexSshConfig, parseSshConfig, resolveHostConfig, type SshConfigBlock, type SshConfigIndex } from './ssh-config.js';

/** Where and how to reach one node, fully resolved. */
export interface SshTarget {
  node: string;
  host: string;
  port: number;
  user: string;
  /** identity files to try after the agent, in order */
  identities: string[];
  /** whether the identity list is the built-in default (missing files are then not worth naming) */
  defaultIdentities: boolean;
  agent?: string;
  knownHosts: string[];
  /** read-only system-wide known hosts */
  globalKnownHosts: string[];
  strict: StrictHostKeyChecking;
  connectTimeoutMs: number;
  /** identity of the settings: a pooled connection is reused only for the same signature */
  sig: string;
}

export const DEFAULT_IDENTITIES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];

/** Resolves nodes to SshTargets; ~/.ssh/config is read again when it changes. */
export class SshTargets {
  private configCache?: { file: string; mtimeMs: number; ctimeMs: number; blocks: SshConfigBlock[]; index: SshConfigIndex };

  constructor(
    /** vacm.yaml's ssh: section (the pool's configure() replaces it) */
    public section: SshSection,
    readonly env: NodeJS.ProcessEnv,
    readonly localUser: string,
  ) {}

  get home(): string {
    return this.env.HOME ?? os.homedir();
  }

  private sshConfig(): { blocks: SshConfigBlock[]; index?: SshConfigIndex } {
    const file = this.section.configFile === false ? undefined : (this.section.configFile ?? path.join(this.home, '.ssh', 'config'));
    if (!file) return { blocks: [] };
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return { blocks: [] };
    }
    if (this.configCache && this.configCache.file === file && this.configCache.mtimeMs === st.mtimeMs && this.configCache.ctimeMs === st.ctimeMs) return this.configCache;
    // it picks identities and known_hosts files: refused when others could have written it, as ssh
    // does ("Bad owner or permissions"); throws ERR_UNSAFE_FILE for every node it would have served
    checkTrustedFile(file, { what: 'ssh client config' });
    let blocks: SshConfigBlock[] = [];
    try {
      blocks = parseSshConfig(fs.readFileSync(file, 'utf8'));
    } catch {
      blocks = [];
    }
    this.configCache = { file, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, blocks, index: indexSshConfig(blocks) };
    return this.configCache;
  }

  /** Resolve how to reach `node`: node variables, then the ssh section, then ~/.ssh/config, then defaults. */
  resolve(node: string, vars: NodeVars): SshTarget {
    const s = this.section;
    const { blocks, index } = this.sshConfig();
    const cfg = resolveHostConfig(blocks, node, index);
    const host = vars.host || cfg.hostName || node;
    let port = s.port ?? cfg.port ?? 22;
    if (vars.ssh_port !== undefined && vars.ssh_port !== '') {
      const p = Number(vars.ssh_port);
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new VacmError('ERR_CONFIG', `ssh_port "${vars.ssh_port}" is not a port number (1-65535); fix it with NEXXUS:SET_VAR:${node}:ssh_port:22`);
      port = p;
    }
    const user = vars.ssh_user || s.user || cfg.user || this.localUser;
    const tokens = { home: this.home, host: node, hostName: host, port, user, localUser: this.localUser };
    const expand = (p: string) => path.resolve(expandSshPath(p, tokens));
    let identities: string[];
    let defaultIdentities = false;
    if (vars.ssh_identity) identities = vars.ssh_identity.split(',').map((x) => x.trim()).filter(Boolean);
    else if (s.identity) identities = s.identity;
    else if (cfg.identityFiles.length > 0) identities = cfg.identityFiles;
    else {
      identities = DEFAULT_IDENTITIES;
      defaultIdentities = true;
    }
    identities = identities.map(expand);
    const useAgent = s.agent && !cfg.identitiesOnly && !!this.env.SSH_AUTH_SOCK;
    let knownHosts: string[];
    if (vars.ssh_known_hosts) knownHosts = vars.ssh_known_hosts.split(',').map((x) => x.trim()).filter(Boolean);
    else if (s.knownHosts) knownHosts = s.knownHosts;
    else if (cfg.userKnownHostsFiles && cfg.userKnownHostsFiles.length > 0) knownHosts = cfg.userKnownHostsFiles;
    else knownHosts = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
    knownHosts = knownHosts.map(expand);
    const cfgStrict = cfg.strictHostKeyChecking === 'off' ? 'no' : cfg.strictHostKeyChecking === 'ask' ? 'yes' : cfg.strictHostKeyChecking;
    const strict: StrictHostKeyChecking = s.strictHostKeyChecking ?? cfgStrict ?? 'yes';
    const connectTimeoutMs = s.connectTimeoutMs ?? (cfg.connectTimeoutS !== undefined ? cfg.connectTimeoutS * 1000 : DEFAULT_CONNECT_TIMEOUT_MS);
    const t: Omit<SshTarget, 'sig'> = {
      node, host, port, user, identities, defaultIdentities,
      agent: useAgent ? this.env.SSH_AUTH_SOCK : undefined,
      knownHosts, globalKnownHosts: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      strict, connectTimeoutMs,
    };
    return { ...t, sig: JSON.stringify([host, port, user, identities, t.agent ?? '', knownHosts, strict]) };
  }
}
