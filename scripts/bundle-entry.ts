// The entry of vacm.mjs (scripts/bundle.mjs): what bin/vacm.js does, with everything inside one file.
import { runFast } from '../src/cli/fast.js';
import { processIo } from '../src/cli/io.js';

// React runs in production mode: scripts/bundle.mjs defines process.env.NODE_ENV as "production"
const argv = process.argv.slice(2);
let code: number | undefined;
if (argv[0] === 'ipc' || argv[0] === 'nodeset' || argv[0] === '__complete') code = await runFast(argv, processIo());
// yargs loads only when the fast path hands over (as in bin/vacm.js)
if (code === undefined) code = await (await import('../src/cli/index.js')).main(argv);
process.exitCode = code;
