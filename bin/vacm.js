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

// `vacm nodeset` skips yargs (it costs more to load than most node-set work); anything the small
// parser does not know falls through to the full command line.
if (argv[0] === 'nodeset') {
  const ns = await load('../dist/cli/nodeset-main.js');
  const args = ns.parseNodesetArgv(argv.slice(1));
  if (args) {
    const { processIo } = await load('../dist/cli/io.js');
    process.exitCode = await ns.nodesetMain(args, processIo());
  }
}
if (process.exitCode === undefined) await (await load('../dist/cli/index.js')).main(argv);
