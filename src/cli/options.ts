/**
 * The options of the script-mode commands, once: yargs builds its help and checks from these tables,
 * and the launcher's fast path (fast.ts) parses with the same tables through yargs-parser.
 */
import type { Options, PositionalOptions } from 'yargs';
import { VacmError } from '../protocol/errors.js';

export type OptionTable = Readonly<Record<string, Options>>;

export const ENGINE_OPTIONS = {
  config: { alias: 'c', type: 'string', describe: 'vacm.yaml to use (else $VACM_CONFIG, ./vacm.yaml, ~/.config/vacm/vacm.yaml, /etc/vacm/vacm.yaml)' },
  demo: { type: 'boolean', default: false, describe: 'add a simulated cluster' },
  nodes: { type: 'number', describe: 'how many simulated nodes --demo adds (default 64)' },
  'read-only': { type: 'boolean', default: false, describe: 'refuse every action that changes something' },
} as const satisfies OptionTable;

export const IPC_OPTIONS = {
  ...ENGINE_OPTIONS,
  json: { type: 'boolean', default: false, describe: 'one JSON object a line: {"tag","job","event","node","fields","ts"}' },
  gather: { type: 'boolean', describe: 'after each job, print identical per-node outputs under one folded node set (default: on, off with --json)' },
  parallel: { type: 'boolean', default: false, describe: 'submit all requests at once instead of one after another' },
  raw: { type: 'boolean', default: false, describe: 'print command output byte-exact even on a terminal (default there: controls shown as ^[)' },
  similar: { type: 'boolean', default: false, describe: "gather lines that differ only by the node's own name or address, shown as [NODE] (default: exact, as clush)" },
  diff: { type: 'boolean', default: false, describe: "like clush --diff: print each job's gathered stdout as unified diffs against its largest group" },
  attach: { type: 'string', describe: 'send the requests to a running vacm serve: ssh://[user@]host[:port] or its socket path (else $VACM_ATTACH, else the local serve\'s socket when it answers)' },
  embedded: { type: 'boolean', default: false, describe: 'run an engine in this process even when a vacm serve answers' },
} as const satisfies OptionTable;

/** The dashboard's: the engine's, and where to attach instead (the same resolver as vacm ipc's). */
export const DASHBOARD_OPTIONS = {
  ...ENGINE_OPTIONS,
  attach: { type: 'string', describe: 'show a running vacm serve: ssh://[user@]host[:port] or its socket path (else $VACM_ATTACH, else the local serve\'s socket when it answers)' },
  embedded: { type: 'boolean', default: false, describe: 'run an engine in this process even when a vacm serve answers' },
} as const satisfies OptionTable;

/**
 * ClusterShell's `nodeset` options, same names. As in ClusterShell, options end at the first
 * operand: after it, `-x SET`, `-i SET`, `-X SET` and `-` are read in order among the operands
 * (both parsers run with halt-at-non-option for this command).
 */
export const NODESET_OPTIONS = {
  config: { type: 'string', describe: 'vacm.yaml for @groups (and the nodelist that * and ? match)' },
  expand: { alias: 'e', type: 'boolean', describe: 'expand: every name, separated by spaces' },
  fold: { alias: 'f', type: 'boolean', describe: 'fold into ranges, like nodeset -f' },
  count: { alias: 'c', type: 'boolean', describe: 'count the nodes' },
  list: { alias: 'l', type: 'count', describe: 'list groups (-ll with their nodes, -lll with counts), of the given nodes if any' },
  'list-all': { alias: 'L', type: 'count', describe: 'like -l, for every group source' },
  regroup: { alias: 'r', type: 'boolean', describe: 'fold using node groups' },
  'list-sources': { alias: 'groupsources', type: 'boolean', describe: 'list the group sources, the default first' },
  exclude: { nargs: 1, alias: 'x', type: 'string', array: true, describe: 'exclude this node set' },
  intersection: { nargs: 1, alias: 'i', type: 'string', array: true, describe: 'intersect with this node set' },
  xor: { nargs: 1, alias: 'X', type: 'string', array: true, describe: 'symmetric difference with this node set' },
  all: { alias: 'a', type: 'boolean', describe: 'every node of the group source' },
  groupsource: { alias: 's', type: 'string', describe: 'group source to use (groups.conf)' },
  groupbase: { alias: 'G', type: 'boolean', describe: 'no group source prefix in -l/-r output' },
  rangeset: { alias: 'R', type: 'boolean', describe: 'work on range sets (1-5,18) instead of node sets' },
  slice: { alias: 'I', type: 'string', describe: 'keep the nodes at these positions (a range set, from 0)' },
  split: { type: 'number', describe: 'split the result into N subsets' },
  contiguous: { type: 'boolean', describe: 'split the result into contiguous subsets' },
  autostep: { type: 'string', describe: 'fold with a-b/step when at least N nodes, N% of them, or auto' },
  axis: { type: 'string', describe: 'fold multi-dimensional sets along these axes only (1..n)' },
  pick: { type: 'number', describe: 'pick N nodes at random' },
  'output-format': { alias: 'O', type: 'string', describe: "output format (default '%s')" },
  separator: { alias: 'S', type: 'string', describe: "separator for --expand, with escapes such as '\\n' (default a space)" },
  quiet: { alias: 'q', type: 'boolean', describe: 'no warnings' },
  debug: { alias: 'd', type: 'boolean', describe: 'accepted for ClusterShell compatibility' },
} as const satisfies OptionTable;

/**
 * A numeric option checked where it is used: yargs and yargs-parser turn `--nodes xyz` into NaN
 * and take `1e12` as it is, so each one is a whole number from `min` to `max` or ERR_USAGE (exit 2).
 */
export function checkWholeNumber(option: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const given = Number.isNaN(value) ? 'is not a number' : Number.isInteger(value) ? `${String(value)} is out of range` : `${String(value)} is not a whole number`;
    throw new VacmError('ERR_USAGE', `${option} ${given}: give a whole number from ${min} to ${max}`);
  }
  return value;
}

export const COPY_OPTIONS = {
  ...ENGINE_OPTIONS,
  json: IPC_OPTIONS.json,
  recursive: { alias: 'r', type: 'boolean', default: false, describe: 'copy a directory and everything under it' },
  preserve: { alias: 'p', type: 'boolean', default: false, describe: "keep each file's mode and mtime" },
  'skip-same': { type: 'boolean', default: false, describe: 'push: leave nodes whose copy already has the same sha256 (reported unchanged)' },
} as const satisfies OptionTable;

export const SERVE_OPTIONS = {
  ...ENGINE_OPTIONS,
  listen: { type: 'string', describe: 'ADDR:PORT where the collector listens for agents (overrides collector.listen)' },
  'listen-ssh': { type: 'string', describe: 'ADDR:PORT of the SSH front door where operators log in (overrides serve.listen)' },
  metrics: { type: 'string', describe: 'serve Prometheus /metrics on ADDR:PORT (e.g. 127.0.0.1:9464)' },
  'snapshot-every': { type: 'number', default: 60, describe: 'seconds between writes of the state snapshot that vacm snapshot reads' },
} as const satisfies OptionTable;

export const SNAPSHOT_OPTIONS = {
  ...ENGINE_OPTIONS,
  html: { type: 'string', demandOption: true, describe: 'file to write (- for stdout)' },
  'max-age': { type: 'number', default: 300, describe: 'use vacm serve\'s saved state when at most this many seconds old; else sweep once' },
} as const satisfies OptionTable;

export const AGENT_OPTIONS = {
  collector: { type: 'string', describe: 'the collector (vacm serve) as HOST:PORT (default 127.0.0.1:8884)' },
  'secret-file': { type: 'string', describe: 'file with this node\'s key (required; with --print-key: the master secret)' },
  'print-key': { type: 'string', describe: 'on the head node: print the key for node NAME derived from the master in --secret-file, and exit' },
  interval: { type: 'number', describe: 'seconds between status messages (default 5)' },
  config: { type: 'string', describe: 'a vacm.yaml whose agent: section (collector, secret_file, interval, name) gives defaults' },
  name: { type: 'string', describe: 'node name to report (default: short hostname)' },
  bind: { type: 'string', describe: 'source address to send from' },
  verbose: { type: 'boolean', default: false, describe: 'log every dropped field and send error' },
} as const satisfies OptionTable;

export const CONSOLE_OPTIONS = {
  ...ENGINE_OPTIONS,
  force: { type: 'boolean', default: false, describe: 'take the console over: from another session holding the BMC\'s SOL payload or the virsh console, or from another operator typing on it' },
} as const satisfies OptionTable;

export const DOCTOR_OPTIONS = {
  config: ENGINE_OPTIONS.config,
  demo: ENGINE_OPTIONS.demo,
  nodes: ENGINE_OPTIONS.nodes,
  timeout: { type: 'number', default: 5, describe: 'seconds the sweep of the nodes (ping, SSH, BMC) may take' },
} as const satisfies OptionTable;

export const COMPLETION_OPTIONS = {} as const satisfies OptionTable;

/** A command as --help, the man page and shell completion describe it. */
export interface CommandDoc {
  /** yargs' command string: the name, then positionals (`ipc [messages..]`); `$0` is the default command */
  readonly command: string;
  readonly describe: string;
  readonly positionals?: Readonly<Record<string, PositionalOptions>>;
  readonly options: OptionTable;
  readonly examples: readonly (readonly [command: string, meaning: string])[];
  readonly epilog?: string;
}

/** Every command, in the order --help and the man page list them. */
export const COMMANDS = {
  ipc: {
    command: 'ipc [messages..]',
    describe: 'send IPC requests (TAG:COMMAND[:NODES[:ARG...]]) and print the responses as they stream',
    positionals: { messages: { type: 'string', array: true, describe: 'requests; read one a line from stdin when none are given' } },
    options: IPC_OPTIONS,
    examples: [
      ['$0 ipc NEXXUS:NODE_LIST', 'list the nodes'],
      ["$0 ipc 'SSH:EXEC:node[001-064]:uname -r'", 'run a command on 64 nodes, output gathered'],
      ["$0 ipc --json 'POWER:STATUS:@rack1'", 'power state of a group, as JSON lines'],
      ['printf "NEXXUS:GROUPS\\nNEXXUS:JOBS\\n" | $0 ipc', 'requests from stdin, one a line'],
    ],
    epilog: 'Exit status: 0 every job completed with no failed node, 1 some node or job failed, 2 usage or parse error (the ERR_* line on stderr).',
  },
  push: {
    command: 'push <targets> <from> <to>',
    describe: 'copy a local file (or tree, with -r) to the nodes over SSH (SFTP on the pooled connections); {name} and {n} expand in the remote path',
    positionals: {
      targets: { type: 'string', describe: 'node set' },
      from: { type: 'string', describe: 'local file or directory' },
      to: { type: 'string', describe: 'path on the nodes (an existing directory receives <basename>)' },
    },
    options: COPY_OPTIONS,
    examples: [
      ["$0 push 'node[001-064]' ./ntp.conf /etc/ntp.conf -p", 'a config file to 64 nodes, mode and mtime kept'],
      ["$0 push @compute ./app /opt/app -r --skip-same", 'a tree, leaving nodes that have it already'],
    ],
    epilog: 'Exit status: 0 every node got its copy, 1 some node failed, 2 usage error.',
  },
  pull: {
    command: 'pull <targets> <from> <to>',
    describe: 'copy a file (or tree, with -r) from each node into DIR/<basename>.<node>, as clush --rcopy does',
    positionals: {
      targets: { type: 'string', describe: 'node set' },
      from: { type: 'string', describe: 'path on the nodes ({name} and {n} expand)' },
      to: { type: 'string', describe: 'local directory (created if missing)' },
    },
    options: COPY_OPTIONS,
    examples: [["$0 pull 'node[001-064]' /var/log/syslog ./logs", 'logs/syslog.node001 ... logs/syslog.node064']],
    epilog: 'Exit status: 0 every node\'s file was saved, 1 some node failed, 2 usage error.',
  },
  nodeset: {
    command: 'nodeset [exprs..]',
    describe: 'expand, fold or count node sets, like ClusterShell\'s nodeset (the union of the arguments)',
    positionals: { exprs: { type: 'string', array: true, describe: 'node set expressions' } },
    options: NODESET_OPTIONS,
    examples: [
      ['$0 nodeset -f node1 node2 node3', 'node[1-3]'],
      ["$0 nodeset -e 'rack[1-2]-n[01-02]'", 'rack1-n01 rack1-n02 rack2-n01 rack2-n02'],
      ["$0 nodeset -c 'node[1-1000000]'", '1000000 (counted without expanding)'],
      ["$0 nodeset -f '@compute!node007'", 'a group minus a node (groups from the config)'],
      ['$0 nodeset -f @rack1 -x node007', 'a group minus a node (groups from vacm.yaml and ClusterShell\'s groups.conf)'],
      ["$0 nodeset -e -S '\\n' 'n[1-3]'", 'one name a line'],
    ],
    epilog: 'Exit status: 0 ok, 1 ERR_NODESET_PARSE (bad expression, the failing part named), 2 usage error.',
  },
  serve: {
    command: 'serve',
    describe: 'run the engine headless: collector, membership, history and /metrics, until SIGTERM or SIGINT; SIGHUP reloads the config',
    options: SERVE_OPTIONS,
    examples: [['$0 serve --config /etc/vacm/vacm.yaml --metrics 127.0.0.1:9464', 'collector, membership and metrics for the cluster']],
  },
  snapshot: {
    command: 'snapshot',
    describe: 'write a static, self-contained HTML page of the cluster: summary, groups, every node with a load chart',
    options: SNAPSHOT_OPTIONS,
    examples: [['$0 snapshot --html /var/www/cluster.html', 'from vacm serve\'s state (with load history)']],
  },
  console: {
    command: 'console <node>',
    describe: 'a node\'s serial console on this terminal (IPMI SOL or virsh console): type to the node; ~. leaves, ~B sends a break, ~? help',
    positionals: { node: { type: 'string', describe: 'the node' } },
    options: CONSOLE_OPTIONS,
    examples: [
      ['$0 console node07', 'watch node07 boot and log in'],
      ['$0 console --force node07', 'take the console over from the session that holds it'],
    ],
    epilog: 'Exit status: 0 left with ~. (or the end of stdin), 1 the console could not be opened or was lost, 2 usage or config error.',
  },
  agent: {
    command: 'agent',
    describe: 'run on a node: send its load, memory, disk and network to the collector as signed UDP datagrams',
    options: AGENT_OPTIONS,
    examples: [
      ['$0 agent --collector head01:8884 --secret-file /etc/vacm/agent.key', 'report every 5 s'],
      ['$0 agent --print-key node01 --secret-file /etc/vacm/agent.secret', 'on the head node: node01\'s key'],
    ],
  },
  doctor: {
    command: 'doctor',
    describe: 'check the installation: config, state dir, audit log, peers, every node\'s ping, SSH and BMC, known_hosts, agent secret; each finding with its fix',
    options: DOCTOR_OPTIONS,
    examples: [
      ['$0 doctor', 'check the config vacm would use'],
      ['$0 doctor --config /etc/vacm/vacm.yaml', 'check a given config'],
    ],
    epilog: 'Exit status: 0 nothing to fix, 1 some finding needs a fix, 2 usage error.',
  },
  completion: {
    command: 'completion <shell>',
    describe: 'print a completion script for bash or zsh (commands, options, and node names, groups and IPC modules from the config)',
    positionals: { shell: { type: 'string', choices: ['bash', 'zsh'], describe: 'the shell' } },
    options: COMPLETION_OPTIONS,
    examples: [
      ['$0 completion bash > /etc/bash_completion.d/vacm', 'bash, for every user'],
      ['$0 completion zsh > "${fpath[1]}/_vacm"', 'zsh'],
    ],
  },
  dashboard: {
    command: '$0',
    describe: 'the dashboard: every node\'s state and load, jobs, and a prompt for IPC requests',
    options: DASHBOARD_OPTIONS,
    examples: [
      ['$0 --demo', 'a simulated 64-node cluster'],
      ['$0 --demo --nodes 1024', 'a large one'],
      ['$0 --attach ssh://alice@head01:2200', 'the dashboard of a running vacm serve (q detaches; its jobs keep running)'],
    ],
  },
} as const satisfies Record<string, CommandDoc>;
