#!/usr/bin/env node
// Writes vacm.1 from the built CLI's tables (dist/cli/manpage.js); `npm run build` runs it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { manPage } = await import(path.join(root, 'dist/cli/manpage.js'));
const { builtinModules } = await import(path.join(root, 'dist/backends/index.js'));
const { vacmVersion } = await import(path.join(root, 'dist/cli/bundled.js'));
// a reproducible date: SOURCE_DATE_EPOCH when the packager sets it
const when = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
const out = process.argv[2] ?? path.join(root, 'vacm.1');
fs.writeFileSync(out, manPage({ version: vacmVersion(), date: when.toISOString().slice(0, 10), modules: builtinModules() }));
