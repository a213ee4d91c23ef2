/**
 * Console bytes into lines, with every bound a hostile serial port needs: a line is cut at
 * `maxLine` characters (the rest up to its newline is counted, not kept), a partial line is
 * handed out after a quiet moment (a `login: ` prompt has no newline), and the lines kept per node
 * are a ring of at most `keep` entries. The text is kept as it came (controls included): whoever
 * shows it to a person makes it visible (src/protocol/visible.ts); the log file escapes it.
 */
import { StringDecoder } from 'node:string_decoder';

export const MAX_CONSOLE_LINE = 4096;

export interface ConsoleLine {
  readonly ts: number;
  readonly text: string;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private current = '';
  private dropped = 0;
  private partialShown = false;

  constructor(
    private readonly onLine: (text: string, partial: boolean) => void,
    private readonly maxLine = MAX_CONSOLE_LINE,
  ) {}

  push(data: Buffer): void {
    const text = this.decoder.write(data);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const piece = nl < 0 ? text.slice(start) : text.slice(start, nl);
      this.add(piece);
      if (nl < 0) break;
      this.endLine();
      start = nl + 1;
    }
  }

  /** the line so far, if any, as a partial line (called after a quiet moment, and at the end) */
  flushPartial(): void {
    if (this.current === '' && this.dropped === 0) return;
    this.partialShown = true;
    this.onLine(this.render(), true);
  }

  get pending(): boolean {
    return this.current !== '' || this.dropped > 0;
  }

  /** the end of the stream: what is left becomes a line */
  end(): void {
    this.add(this.decoder.end());
    if (this.pending) this.endLine();
  }

  private add(piece: string): void {
    if (!piece) return;
    const room = this.maxLine - this.current.length;
    if (piece.length <= room) {
      this.current += piece;
    } else {
      this.current += piece.slice(0, Math.max(0, room));
      this.dropped += piece.length - Math.max(0, room);
    }
  }

  private render(): string {
    const text = this.current.endsWith('\r') ? this.current.slice(0, -1) : this.current;
    return this.dropped ? `${text}…[cut ${this.dropped} chars]` : text;
  }

  private endLine(): void {
    const line = this.render();
    this.current = '';
    this.dropped = 0;
    this.partialShown = false;
    this.onLine(line, false);
  }

  /** whether the line under way was already handed out as a partial line */
  get partialWasShown(): boolean {
    return this.partialShown;
  }
}

/** The last `keep` lines, oldest first. */
export class LineRing {
  private readonly buf: ConsoleLine[] = [];

  constructor(readonly keep: number) {}

  push(line: ConsoleLine): void {
    this.buf.push(line);
    if (this.buf.length > this.keep) this.buf.splice(0, this.buf.length - this.keep);
  }

  last(n: number): ConsoleLine[] {
    return n <= 0 ? [] : this.buf.slice(-n);
  }

  get size(): number {
    return this.buf.length;
  }
}
