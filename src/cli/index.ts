/**
 * The vacm command line (yargs): the dashboard by default, and script-mode commands. Each command
 * loads its own code when it runs, so `vacm ipc` does not pay for ink nor `vacm agent` for the engine.
 */
import yargs, { type Argv } from 'yargs';
import { VacmError } from '../protocol/errors.js';
import { nodesetMain } from './nodeset-main.js';
import { processIo, type Io } from './io.js';
import { ENGINE_OPTIONS, IPC_OPTIONS, NODESET_OPTIONS } from './options.js';
import { fail, ipcCommand } from './commands.js';
import { parseWith } from './fast.js';

function engineOptions<T>(y: Argv<T>) {
  return y.options(ENGINE_OPTIONS);
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('vacm')
    .usage('vacm — a terminal operator console for computer clusters\n\nUsage: $0 [command] [options]')
    .command(
      'ipc [messages..]',
      'send IPC requests (TAG:COMMAND[:NODES[:ARG...]]) and print the responses as they stream',
      (y) =>
        y
          .positional('messages', { type: 'string', array: true, describe: 'requests; read one a line from stdin when none are given' })
          .options(IPC_OPTIONS)
          .example('$0 ipc NEXXUS:NODE_LIST', 'list the nodes')
          .example("$0 ipc 'SSH:EXEC:node[001-064]:uname -r'", 'run a command on 64 nodes, output gathered')
          .example("$0 ipc --json 'POWER:STATUS:@rack1'", 'power state of a group, as JSON lines')
          .example('printf "NEXXUS:GROUPS\\nNEXXUS:JOBS\\n" | $0 ipc', 'requests from stdin, one a line')
          .epilog('Exit status: 0 every job completed with no failed node, 1 some node or job failed, 2 usage or parse error (the ERR_* line on stderr).'),
      async (a) => {
        code = await ipcCommand(a, io);
      },
    )
    .command(
      'nodeset [exprs..]',
      'expand, fold or count node sets, like ClusterShell\'s nodeset (the union of the arguments)',
      (y) =>
        y
          .positional('exprs', { type: 'string', array: true })
          .options(NODESET_OPTIONS)
          .version(false)
          .option('version', { type: 'boolean', describe: 'show the version' })
          .example('$0 nodeset -f node1 node2 node3', 'node[1-3]')
          .example('$0 nodeset -f @rack1 -x node007', 'a group minus a node (groups from vacm.yaml and ClusterShell\'s groups.conf)')
          .example("$0 nodeset -e -S '\\n' 'n[1-3]'", 'one name a line')
          .example("$0 nodeset -e 'rack[1-2]-n[01-02]'", 'rack1-n01 rack1-n02 rack2-n01 rack2-n02')
          .example("$0 nodeset -c 'node[1-1000000]'", '1000000 (counted without expanding)')
          .example("$0 nodeset -f '@compute!node007'", 'a group minus a node (groups from the config)')
          .epilog('Exit status: 0 ok, 1 ERR_NODESET_PARSE (bad expression, the failing part named), 2 usage error.'),
      async (a) => {
        // as ClusterShell, options end at the first operand (-x/-i/-X and - are read among the
        // operands): yargs reads options anywhere, so the launcher's parser reads them again
        const ordered = parseWith(argv.slice(1), NODESET_OPTIONS, { haltAtNonOption: true });
        code = await nodesetMain(ordered ? { ...ordered, version: a.version, exprs: ordered._ } : a, io);
      },
    )
    .command(
      'serve',
      'run the engine headless: collector, membership, history and /metrics, until SIGTERM or SIGINT',
      (y) =>
        engineOptions(y)
          .option('listen', { type: 'string', describe: 'ADDR:PORT where the collector listens for agents (overrides collector.listen)' })
          .option('metrics', { type: 'string', describe: 'serve Prometheus /metrics on ADDR:PORT (e.g. 127.0.0.1:9464)' })
          .option('snapshot-every', { type: 'number', default: 60, describe: 'seconds between writes of the state snapshot that vacm snapshot reads' })
          .example('$0 serve --config /etc/vacm/vacm.yaml --metrics 127.0.0.1:9464', 'collector, membership and metrics for the cluster'),
      async (a) => {
        const { runServe } = await import('./serve.js');
        code = await runServe({ config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'], listen: a.listen, metrics: a.metrics, snapshotEvery: a['snapshot-every'] }, io);
      },
    )
    .command(
      'snapshot',
      'write a static, self-contained HTML page of the cluster: summary, groups, every node with a load chart',
      (y) =>
        engineOptions(y)
          .option('html', { type: 'string', demandOption: true, describe: 'file to write (- for stdout)' })
          .option('max-age', { type: 'number', default: 300, describe: 'use vacm serve\'s saved state when at most this many seconds old; else sweep once' })
          .example('$0 snapshot --html /var/www/cluster.html', 'from vacm serve\'s state (with load history)'),
      async (a) => {
        const { runSnapshot } = await import('./snapshot.js');
        code = await runSnapshot({ config: a.config, demo: a.demo, nodes: a.nodes, html: a.html, maxAge: a['max-age'] }, io);
      },
    )
    .command(
      'agent',
      'run on a node: send its load, memory, disk and network to the collector as signed UDP datagrams',
      (y) =>
        y
          .option('collector', { type: 'string', describe: 'the collector (vacm serve) as HOST:PORT (default 127.0.0.1:8884)' })
          .option('secret-file', { type: 'string', describe: 'file with this node\'s key (required; with --print-key: the master secret)' })
          .option('print-key', { type: 'string', describe: 'on the head node: print the key for node NAME derived from the master in --secret-file, and exit' })
          .option('interval', { type: 'number', describe: 'seconds between status messages (default 5)' })
          .option('config', { type: 'string', describe: 'a vacm.yaml whose agent: section (collector, secret_file, interval, name) gives defaults' })
          .option('name', { type: 'string', describe: 'node name to report (default: short hostname)' })
          .option('bind', { type: 'string', describe: 'source address to send from' })
          .option('verbose', { type: 'boolean', default: false, describe: 'log every dropped field and send error' })
          .example('$0 agent --collector head01:8884 --secret-file /etc/vacm/agent.key', 'report every 5 s')
          .example('$0 agent --print-key node01 --secret-file /etc/vacm/agent.secret', 'on the head node: node01\'s key'),
      async (a) => {
        const { runAgent } = await import('./agent.js');
        code = await runAgent({ config: a.config, collector: a.collector, secretFile: a['secret-file'], interval: a.interval, name: a.name, bind: a.bind, verbose: a.verbose, printKey: a['print-key'] }, io);
      },
    )
    .command(
      '$0',
      'the dashboard: every node\'s state and load, jobs, and a prompt for IPC requests',
      (y) => engineOptions(y).example('$0 --demo', 'a simulated 64-node cluster').example('$0 --demo --nodes 1024', 'a large one'),
      async (a) => {
        try {
          // ink and React take most of a second to load: only the dashboard pays for them
          const { runTui } = await import('./tui.js');
          code = await runTui({ config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'] }, io);
        } catch (err) {
          code = fail(io, err);
        }
      },
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // throwing stops yargs from running the command's handler after a usage error
      throw err ?? new VacmError('ERR_USAGE', `${msg}\nsee vacm --help`);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    code = fail(io, err);
  }
  process.exitCode = code;
  return code;
}
