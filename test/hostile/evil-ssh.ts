/**
 * A hostile "SSH server" on loopback: it sends its identification and then an SSH_MSG_DISCONNECT
 * whose description is chosen by the test — before any key exchange, so before any host key check,
 * exactly what anything answering on a node's address can do.
 */
import net from 'node:net';

/** The unencrypted binary packet of RFC 4253 section 6 (no MAC before the first key exchange). */
function packet(payload: Buffer): Buffer {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length + pad, 0);
  head[4] = pad;
  return Buffer.concat([head, payload, Buffer.alloc(pad)]);
}

function sshString(s: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(s.length, 0);
  return Buffer.concat([len, s]);
}

export function disconnectPacket(description: Buffer, reason = 2): Buffer {
  const r = Buffer.alloc(4);
  r.writeUInt32BE(reason, 0);
  return packet(Buffer.concat([Buffer.from([1]), r, sshString(description), sshString(Buffer.alloc(0))]));
}

export interface EvilSsh {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (a free port) and DISCONNECT every client with `description`. */
export function startEvilSsh(description: Buffer | string): Promise<EvilSsh> {
  const desc = typeof description === 'string' ? Buffer.from(description, 'utf8') : description;
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write('SSH-2.0-OpenSSH_9.6\r\n');
    // answer after the client's identification arrives, as a server does
    s.once('data', () => {
      s.write(disconnectPacket(desc));
      setTimeout(() => s.destroy(), 200).unref();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        connections: () => count,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}
