/**
 * vacm.1, the man page, generated from the tables yargs builds --help from (options.ts: every
 * command, option, example and epilog) and from the module registry (every IPC command's usage),
 * so it cannot drift from the program. `npm run build` writes it (scripts/man.mjs); package.json's
 * `man` field installs it with `npm install -g`.
 */
import type { Options } from 'yargs';
import { usageOf } from '../protocol/ipc.js';
import { isDangerous, type ModuleDef } from '../protocol/module.js';
import { COMMANDS, type CommandDoc } from './options.js';

/** Text as roff reads it literally: backslashes, leading dots and quotes, hyphens as minus signs. */
export function roff(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? '\\&' + l : l))
    .join('\n');
}

const bold = (s: string) => `\\fB${roff(s)}\\fR`;
const ital = (s: string) => `\\fI${roff(s)}\\fR`;

function optionHead(key: string, o: Options): string {
  const names = [o.alias, key].filter((n): n is string => typeof n === 'string').map((n) => bold(n.length === 1 ? `-${n}` : `--${n}`));
  const arg = o.type === 'string' ? ' ' + ital('STRING') : o.type === 'number' ? ' ' + ital('N') : '';
  return names.join(', ') + arg;
}

function optionBody(o: Options): string {
  let s = o.describe ?? '';
  if (o.default !== undefined && o.type !== 'boolean') s += ` (default: ${String(o.default)})`;
  if (o.demandOption) s += ' (required)';
  return roff(s);
}

/** `ipc [messages..]` → `vacm ipc [MESSAGES...]` */
function synopsis(doc: CommandDoc): string {
  const [name, ...pos] = doc.command.split(' ');
  const parts = [bold(name === '$0' ? 'vacm' : `vacm ${name}`), '[' + ital('options') + ']'];
  for (const p of pos) {
    const m = /^([[<])(\w+)(\.\.)?[\]>]$/.exec(p);
    if (!m) continue;
    const word = ital(m[2].toUpperCase()) + (m[3] ? '...' : '');
    parts.push(m[1] === '[' ? `[${word}]` : word);
  }
  return parts.join(' ');
}

const ex = (s: string) => s.replace(/\$0/g, 'vacm');

export interface ManOptions {
  version: string;
  /** the page's date, YYYY-MM-DD */
  date: string;
  modules: readonly ModuleDef[];
}

export function manPage(o: ManOptions): string {
  const docs = Object.values(COMMANDS) as CommandDoc[];
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);
  p(`.TH VACM 1 "${o.date}" "vacm ${roff(o.version)}" "User Commands"`, '.nh', '.ad l');
  p('.SH NAME', 'vacm \\- a terminal operator console for computer clusters');
  p('.SH SYNOPSIS');
  for (const d of docs) p('.br', synopsis(d));
  p('.SH DESCRIPTION',
    roff('vacm shows every node of a cluster on one keyboard-driven screen (state, live load, jobs) and takes commands: power nodes on and off, ping them, run a command on hundreds of them at once. The same engine answers scripts (vacm ipc) and runs headless as a service (vacm serve).'),
    '.PP',
    roff('Every action is an IPC request, TAG:COMMAND[:NODES[:ARG...]] (see IPC REQUESTS below), whether typed at the dashboard\'s prompt (:) or given to vacm ipc.'));
  p('.SH COMMANDS');
  for (const d of docs) {
    p('.SS ' + synopsis(d), roff(d.describe));
    const pos = Object.entries(d.positionals ?? {});
    for (const [k, po] of pos) p('.TP', ital(k.toUpperCase()), roff(po.describe ?? ''));
    for (const [k, opt] of Object.entries(d.options)) p('.TP', optionHead(k, opt), optionBody(opt));
    p('.TP', `${bold('-h')}, ${bold('--help')}`, roff('show the command\'s help'));
    if (d.command === '$0') p('.TP', bold('--version'), roff('print the version'));
    if (d.examples.length) {
      p('.PP', 'Examples:');
      for (const [cmd, meaning] of d.examples) p('.PP', '.RS 4', bold(ex(cmd)), '.br', roff(meaning), '.RE');
    }
    if (d.epilog) p('.PP', roff(d.epilog));
  }
  p('.SH IPC REQUESTS',
    bold('TAG:COMMAND[:NODES[:ARG...]]'),
    '.PP',
    roff('Fields are split on colons; \\: is a literal colon and \\\\ a literal backslash. TAG and COMMAND are case-insensitive. NODES is a node set; * means every node; it is empty where the command takes none (NEXXUS:HELP::SSH). A command may take the rest of the line verbatim as its last argument, colons included (SSH:EXEC:node[1-4]:grep -c a:b /etc/x). Lines are trimmed, empty lines ignored, lines over 64 KiB refused. A request naming a node that is not in the nodelist runs nothing.'),
    '.PP',
    roff('Responses are TAG:JOBID:EVENT[:FIELD...]. Every job emits JOB_STARTED first and exactly one of JOB_COMPLETED:ok=N:failed=M, JOB_FAILED:<ERR_CODE>:<message> or JOB_CANCELLED last. Job 0 carries unsolicited messages (NODE_UP, NODE_DOWN, errors that belong to no job). With --json each event is one JSON object a line: {"tag","job","event","node","fields","ts"}.'),
    '.SS Node sets',
    roff('ClusterShell\'s syntax: node[001-128] (ranges, zero padding), n[1-4,9,20-30], n[0-10/2] (steps), rack[1-2]-n[01-16] (several dimensions); operators read left to right: , union, ! difference, & intersection, ^ symmetric difference; @group (from the config or ClusterShell\'s groups, @source:group with the colon escaped inside an IPC line); * and ? wildcards against the nodelist; live selectors @state=down, @power=off, @stale=SECONDS, @var.KEY=GLOB, @drained.'),
    '.SS Modules and commands');
  for (const m of o.modules) {
    p('.TP', bold(m.tag), roff(m.summary));
    for (const c of m.commands) p('.br', `${bold(usageOf(m.tag, c.name, c))}${isDangerous(c, { tag: m.tag, command: c.name, nodes: '', args: [], named: {}, line: `${m.tag}:${c.name}` }) ? ' (changes things: audited, refused read-only)' : ''}`, '\\- ' + roff(c.summary));
  }
  p('.SH FILES',
    '.TP', bold('./vacm.yaml, ~/.config/vacm/vacm.yaml, /etc/vacm/vacm.yaml'), roff('the config, the first found (unless --config or $VACM_CONFIG names one): nodes, groups, variables, module sections'),
    '.TP', bold('$VACM_STATE_DIR/audit.jsonl'), roff('every action that changes something, appended and flushed before it runs and again with its outcome'),
    '.TP', bold('$VACM_STATE_DIR/serve-snapshot.json, history.bin'), roff('what vacm serve saves for vacm snapshot'),
    '.TP', bold('$VACM_STATE_DIR/prompt_history'), roff('the dashboard prompt\'s history'),
    '.TP', bold('~/.ssh/config, ~/.ssh/known_hosts, ~/.ssh/id_*'), roff('honoured by SSH as OpenSSH would'));
  p('.SH ENVIRONMENT',
    '.TP', bold('VACM_CONFIG'), roff('the config file, when --config is not given'),
    '.TP', bold('VACM_STATE_DIR'), roff('where state and the audit log live (default ~/.local/state/vacm)'),
    '.TP', bold('VACM_CODE_CACHE'), roff('where vacm ipc keeps V8\'s compiled code (default ~/.cache/vacm/code; off: none)'),
    '.TP', bold('NO_COLOR'), roff('when set and not empty, the dashboard uses no colours'),
    '.TP', bold('VACM_HEAP_GROWING_PERCENT'), roff('how far the dashboard lets V8\'s old generation grow past the live heap before a full collection (default 100: twice; 0: V8 decides, up to 4x, more memory)'),
    '.TP', bold('NODE_ENV'), roff('production unless set (React\'s development checks with NODE_ENV=development)'),
    '.TP', bold('CLUSTERSHELL_CFGDIR'), roff('where ClusterShell\'s groups.conf is read for @groups'),
    '.TP', bold('SSH_AUTH_SOCK'), roff('the ssh-agent SSH uses'),
    '.TP', bold('JOURNAL_STREAM'), roff('set by systemd: vacm serve then prefixes its log lines with their priority (<6>) for the journal'));
  p('.SH EXIT STATUS',
    '.TP', bold('0'), roff('every job completed with no failed node (doctor: nothing to fix)'),
    '.TP', bold('1'), roff('some node or job failed (doctor: some finding needs a fix)'),
    '.TP', bold('2'), roff('usage, parse or config error: the ERR_* code and message are on stderr'));
  p('.SH SIGNALS',
    roff('vacm serve stops cleanly on SIGTERM or SIGINT (jobs cancelled, state saved) and reloads its config on SIGHUP (an invalid config is reported and the running one kept).'));
  p('.SH SEE ALSO', roff('ssh(1), nodeset(1), clush(1), pdsh(1), ipmitool(1), powerman(1), virsh(1); the docs/ folder of the vacm package.'));
  return out.join('\n') + '\n';
}
