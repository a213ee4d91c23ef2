/**
 * Request lines from a stream (`vacm ipc` reading stdin), with the grammar's 64 KiB line limit
 * applied while reading: a longer line is refused as soon as it passes the limit, the rest of it
 * is discarded up to its newline without being kept, and reading goes on with the next line. So
 * a 100 MB line costs 64 KiB of memory, not 100 MB (readline buffers a whole line first).
 */
import type { Readable } from 'node:stream';
import { MAX_LINE_BYTES } from '../protocol/ipc.js';

export type RequestLine = { line: string } | { tooLong: number };

export async function* readRequestLines(input: Readable, maxBytes = MAX_LINE_BYTES): AsyncGenerator<RequestLine> {
  let parts: Buffer[] = []; // the line so far (at most maxBytes)
  let held = 0; // bytes in parts
  let discarding = -1; // when >= 0: bytes of a refused line seen so far
  const take = (chunk: Buffer, from: number, to: number): void => {
    if (discarding >= 0) {
      discarding += to - from;
      return;
    }
    if (held + (to - from) > maxBytes) {
      discarding = held + (to - from);
      parts = [];
      held = 0;
      return;
    }
    if (to > from) {
      parts.push(chunk.subarray(from, to));
      held += to - from;
    }
  };
  const finish = (): RequestLine => {
    let r: RequestLine;
    if (discarding >= 0) r = { tooLong: discarding };
    else {
      let s = Buffer.concat(parts, held).toString('utf8');
      if (s.endsWith('\r')) s = s.slice(0, -1);
      r = { line: s };
    }
    parts = [];
    held = 0;
    discarding = -1;
    return r;
  };
  for await (const raw of input) {
    const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : (raw as Buffer);
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      take(chunk, from, nl);
      from = nl + 1;
      yield finish();
    }
    take(chunk, from, chunk.length);
  }
  if (held > 0 || discarding >= 0) yield finish();
}
