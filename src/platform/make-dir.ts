/**
 * `mkdir -p` that always ends. Node's own recursive mkdir (fs.mkdirSync(dir, { recursive: true }),
 * fs.promises.mkdir likewise; Node 20) loops forever at 100 % CPU where mkdir answers ENOENT
 * under a parent that exists — /proc/x/y does, since procfs refuses new entries that way — and a
 * synchronous loop cannot even be interrupted by a timer. This one creates each missing component
 * once, from the first existing ancestor down, and throws the first error it meets.
 */
import fs from 'node:fs';
import path from 'node:path';

export function makeDirectory(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  // walk up to the first ancestor that exists: at most the path's depth steps
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      // created meanwhile by someone else is fine, if it is a directory
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw err;
    }
  }
}
