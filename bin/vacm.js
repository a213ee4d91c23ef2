#!/usr/bin/env node
// The vacm launcher: React runs in production mode (1.5x less CPU) unless told otherwise.
process.env.NODE_ENV ??= 'production';
const argv = process.argv.slice(2);

async function load(path) {
  try {
    return await import(path);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      process.stderr.write('vacm is not built: run `npm install` (or `npm run build`) in its folder first\n');
      process.exit(2);
    }
    throw err;
  }
}

// `vacm ipc` and `vacm nodeset`, which scripts call in loops, and the shell completion callback
// (`vacm __complete`) start without loading yargs; whatever
// the fast path does not know (--help, an unknown option) goes to the full command line.
let code;
if (argv[0] === 'ipc' || argv[0] === 'nodeset' || argv[0] === '__complete') {
  const [{ runFast }, { processIo }] = await Promise.all([load('../dist/cli/fast.js'), load('../dist/cli/io.js')]);
  code = await runFast(argv, processIo());
}
if (code === undefined) code = await (await load('../dist/cli/index.js')).main(argv);
process.exitCode = code;
