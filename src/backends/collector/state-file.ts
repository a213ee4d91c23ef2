/**
 * The collector's small files in the state dir (discovered hosts, the replay memory): written
 * atomically (a temp file renamed over the old one), mode 0600, never through a symlink someone
 * planted (O_NOFOLLOW on the temp file and on reads), and read with a size bound.
 *
 * Kept behind these two functions so that they can move onto the shared state-dir writer.
 */
import fs from 'node:fs';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = fs.constants;

/** Write `data` to `file` through `file.tmp` (created afresh, 0600, not followed if a symlink), then rename. */
export async function writeStateFile(file: string, data: string): Promise<void> {
  const tmp = file + '.tmp';
  await fs.promises.rm(tmp, { force: true });
  const fh = await fs.promises.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
}

/** The file's text, or undefined when it is missing, a symlink, not a regular file, or over `maxBytes`. */
export function readStateFile(file: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** `writeStateFile`, synchronously (small files written rarely: the discovered hosts). */
export function writeStateFileSync(file: string, data: string): void {
  const tmp = file + '.tmp';
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
