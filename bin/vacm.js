#!/usr/bin/env node
// The vacm launcher: React runs in production mode (1.5x less CPU) unless told otherwise.
process.env.NODE_ENV ??= 'production';
let cli;
try {
  cli = await import('../dist/cli/index.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    process.stderr.write('vacm is not built: run `npm install` (or `npm run build`) in its folder first\n');
    process.exit(2);
  }
  throw err;
}
await cli.main(process.argv.slice(2));
