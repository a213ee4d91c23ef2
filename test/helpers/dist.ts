/**
 * Tests of the built binary run what is in dist/: make sure it is what src/ says, so that they never
 * pass (or fail) on an old build. A stale or missing dist/ is rebuilt with tsc, as `npm run build`
 * does first.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The src/ files whose dist/ counterpart is missing or older. */
export function staleDistFiles(): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        const out = path.join(root, 'dist', path.relative(path.join(root, 'src'), p)).replace(/\.tsx?$/, '.js');
        const built = fs.statSync(out, { throwIfNoEntry: false });
        if (!built || built.mtimeMs < fs.statSync(p).mtimeMs) stale.push(path.relative(root, p));
      }
    }
  };
  walk(path.join(root, 'src'));
  return stale;
}

/** Rebuild dist/ when it is not fresh; afterwards it is. */
export function ensureFreshDist(): void {
  if (staleDistFiles().length === 0) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
}
