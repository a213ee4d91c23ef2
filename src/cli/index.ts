/**
 * The vacm command line (yargs): the dashboard by default, and script-mode commands. Each command
 * loads its own code when it runs, so `vacm ipc` does not pay for ink nor `vacm agent` for the engine.
 */
import yargs, { type Argv } from 'yargs';
import { VacmError } from '../protocol/errors.js';
import { nodesetMain } from './nodeset-main.js';
import { processIo, type Io } from './io.js';
import { AGENT_OPTIONS, COMMANDS, CONSOLE_OPTIONS, COPY_OPTIONS, DASHBOARD_OPTIONS, DOCTOR_OPTIONS, IPC_OPTIONS, NODESET_OPTIONS, SERVE_OPTIONS, SNAPSHOT_OPTIONS, type CommandDoc } from './options.js';
import { copyCommand, fail, ipcCommand } from './commands.js';
import { parseWith } from './fast.js';
import { vacmVersion } from './bundled.js';

function dashboardOptions<T>(y: Argv<T>) {
  return y.options(DASHBOARD_OPTIONS);
}

/** A command's examples and epilog from its table (options.ts), which the man page reads too. */
function documented<T>(y: Argv<T>, doc: CommandDoc): Argv<T> {
  for (const [cmd, meaning] of doc.examples) y = y.example(cmd, meaning);
  return doc.epilog ? y.epilog(doc.epilog) : y;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('vacm')
    .usage('vacm — a terminal operator console for computer clusters\n\nUsage: $0 [command] [options]')
    .command(
      COMMANDS.ipc.command,
      COMMANDS.ipc.describe,
      (y) => documented(y.positional('messages', COMMANDS.ipc.positionals.messages).options(IPC_OPTIONS), COMMANDS.ipc),
      async (a) => {
        code = await ipcCommand(a, io);
      },
    )
    .command(
      COMMANDS.push.command,
      COMMANDS.push.describe,
      (y) => documented(y.positional('targets', COMMANDS.push.positionals.targets).positional('from', COMMANDS.push.positionals.from).positional('to', COMMANDS.push.positionals.to).options(COPY_OPTIONS), COMMANDS.push),
      async (a) => {
        code = await copyCommand('PUSH', a, io);
      },
    )
    .command(
      COMMANDS.pull.command,
      COMMANDS.pull.describe,
      (y) => documented(y.positional('targets', COMMANDS.pull.positionals.targets).positional('from', COMMANDS.pull.positionals.from).positional('to', COMMANDS.pull.positionals.to).options(COPY_OPTIONS), COMMANDS.pull),
      async (a) => {
        code = await copyCommand('PULL', a, io);
      },
    )
    .command(
      COMMANDS.nodeset.command,
      COMMANDS.nodeset.describe,
      (y) =>
        documented(y.positional('exprs', COMMANDS.nodeset.positionals.exprs).options(NODESET_OPTIONS), COMMANDS.nodeset)
          .version(false)
          .option('version', { type: 'boolean', describe: 'show the version' }),
      async (a) => {
        // as ClusterShell, options end at the first operand (-x/-i/-X and - are read among the
        // operands): yargs reads options anywhere, so the launcher's parser reads them again
        const ordered = parseWith(argv.slice(1), NODESET_OPTIONS, { haltAtNonOption: true });
        code = await nodesetMain(ordered ? { ...ordered, version: a.version, exprs: ordered._ } : a, io);
      },
    )
    .command(
      COMMANDS.serve.command,
      COMMANDS.serve.describe,
      (y) => documented(y.options(SERVE_OPTIONS), COMMANDS.serve),
      async (a) => {
        const { runServe } = await import('./serve.js');
        code = await runServe({ config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'], listen: a.listen, listenSsh: a['listen-ssh'], metrics: a.metrics, snapshotEvery: a['snapshot-every'] }, io);
      },
    )
    .command(
      COMMANDS.snapshot.command,
      COMMANDS.snapshot.describe,
      (y) => documented(y.options(SNAPSHOT_OPTIONS), COMMANDS.snapshot),
      async (a) => {
        const { runSnapshot } = await import('./snapshot.js');
        code = await runSnapshot({ config: a.config, demo: a.demo, nodes: a.nodes, html: a.html, maxAge: a['max-age'] }, io);
      },
    )
    .command(
      COMMANDS.console.command,
      COMMANDS.console.describe,
      (y) => documented(y.positional('node', COMMANDS.console.positionals.node).options(CONSOLE_OPTIONS), COMMANDS.console),
      async (a) => {
        const { runConsole } = await import('./console.js');
        code = await runConsole({ config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'], node: String(a.node), force: a.force }, io);
      },
    )
    .command(
      COMMANDS.agent.command,
      COMMANDS.agent.describe,
      (y) => documented(y.options(AGENT_OPTIONS), COMMANDS.agent),
      async (a) => {
        const { runAgent } = await import('./agent.js');
        code = await runAgent({ config: a.config, collector: a.collector, secretFile: a['secret-file'], interval: a.interval, name: a.name, bind: a.bind, verbose: a.verbose, printKey: a['print-key'] }, io);
      },
    )
    .command(
      COMMANDS.doctor.command,
      COMMANDS.doctor.describe,
      (y) => documented(y.options(DOCTOR_OPTIONS), COMMANDS.doctor),
      async (a) => {
        const { runDoctor } = await import('./doctor.js');
        code = await runDoctor({ config: a.config, demo: a.demo, nodes: a.nodes, timeoutS: a.timeout }, io);
      },
    )
    .command(
      COMMANDS.completion.command,
      COMMANDS.completion.describe,
      (y) => documented(y.positional('shell', COMMANDS.completion.positionals.shell), COMMANDS.completion),
      async (a) => {
        const { completionScript } = await import('./completion.js');
        io.out(completionScript(a.shell === 'zsh' ? 'zsh' : 'bash'));
      },
    )
    // the completion scripts call back here for the words of the command line being completed
    .command(
      '__complete',
      false,
      (y) => y.strict(false),
      async () => {
        const { completeMain } = await import('./completion.js');
        code = await completeMain(argv.slice(1), io);
      },
    )
    .command(
      COMMANDS.dashboard.command,
      COMMANDS.dashboard.describe,
      (y) => documented(dashboardOptions(y), COMMANDS.dashboard),
      async (a) => {
        try {
          // ink and React take most of a second to load: only the dashboard pays for them
          const { runTui } = await import('./tui.js');
          const { attachTargetFor } = await import('./commands.js');
          const to = await attachTargetFor(a);
          code = await runTui({ config: a.config, demo: a.demo, nodes: a.nodes, readOnly: a['read-only'] }, io, to);
        } catch (err) {
          code = fail(io, err);
        }
      },
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version(vacmVersion())
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
