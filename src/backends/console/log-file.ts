/**
 * console/<node>.log in the state dir: one line per console line, `ISO-time text`, controls
 * escaped (a log read with `cat` or `less` cannot drive the reader's terminal). Written through
 * platform/state-files.ts (0700 dir, 0600 file, no symlink followed), in batches, and rotated to
 * <node>.log.1 when it would pass max_bytes, so one node's console costs at most twice that.
 */
import fs from 'node:fs';
import path from 'node:path';
import { escapeControls } from '../../protocol/visible.js';
import { openStateFile } from '../../platform/state-files.js';

const FLUSH_MS = 200;
const FLUSH_BYTES = 64 * 1024;

export class ConsoleLog {
  private fd: number | undefined;
  private size = -1;
  private buf: string[] = [];
  private bufBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** the last write error, for the module to report once */
  error: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly node: string,
    private readonly maxBytes: number,
    /** told once per run of failures (a planted symlink, a full disk), not once per line */
    private readonly onError?: (err: Error) => void,
  ) {}

  static dirOf(stateDir: string): string {
    return path.join(stateDir, 'console');
  }

  get file(): string {
    return path.join(this.dir, `${this.node}.log`);
  }

  append(ts: number, text: string): void {
    const line = `${new Date(ts).toISOString()} ${escapeControls(text)}\n`;
    this.buf.push(line);
    this.bufBytes += Buffer.byteLength(line);
    if (this.bufBytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf.length) return;
    const lines = this.buf;
    this.buf = [];
    this.bufBytes = 0;
    try {
      if (this.fd === undefined) this.openFile();
      // written in runs that fit: the file never passes max_bytes (a line longer than it is written alone)
      let run: string[] = [];
      let runBytes = 0;
      const write = (): void => {
        if (!run.length) return;
        const data = Buffer.from(run.join(''));
        fs.writeSync(this.fd!, data);
        this.size += data.length;
        run = [];
        runBytes = 0;
      };
      for (const line of lines) {
        const n = Buffer.byteLength(line);
        if (this.size + runBytes + n > this.maxBytes && this.size + runBytes > 0) {
          write();
          this.rotate();
        }
        run.push(line);
        runBytes += n;
      }
      write();
      this.error = undefined;
    } catch (e) {
      if (!this.error) this.onError?.(e as Error);
      this.error = e as Error;
      this.closeFd();
    }
  }

  close(): void {
    this.flush();
    this.closeFd();
  }

  private openFile(): void {
    this.fd = openStateFile(this.dir, `${this.node}.log`);
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.closeFd();
    // rename never follows a link at the target; the directory was checked by openStateFile
    fs.renameSync(this.file, `${this.file}.1`);
    this.openFile();
  }

  private closeFd(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed */
      }
    }
    this.fd = undefined;
  }
}
