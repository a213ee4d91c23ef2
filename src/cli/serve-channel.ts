/** Writing to and reading from one channel of a serve session, bounded (serve-door.ts). */
import { PassThrough, type Readable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import type { DoorConnection } from './serve-door.js';

/** Writes to a channel that never throw and never grow past the connection's bound. */
export function channelWriter(conn: DoorConnection, ch: ServerChannel, stream: NodeJS.WritableStream & { writableLength?: number; destroyed?: boolean }): (s: string) => void {
  return (s) => {
    if (ch.destroyed || (stream as { destroyed?: boolean }).destroyed) return;
    const waiting = conn.unread();
    if (waiting > 0 && waiting + Buffer.byteLength(s) > conn.maxUnread) {
      conn.drop(`${conn.user.name} at ${conn.addr} left more than ${conn.maxUnread} bytes unread (serve.max_unread_bytes): disconnected`);
      return;
    }
    try {
      stream.write(s);
    } catch {
      /* the channel closed under us: the output has nobody to go to */
    }
  };
}

/**
 * The channel's input as a stream of its own: a reader that stops early (`quit`) or ends destroys
 * the stream it iterates, and the channel must stay open for the exit status.
 */
export function channelInput(ch: ServerChannel): Readable {
  const p = new PassThrough();
  ch.pipe(p);
  return p;
}

export function emptyInput(): Readable {
  const p = new PassThrough();
  p.end();
  return p;
}
