/** A node's "serial port" for the console tests: a TCP server on loopback that ipmi_sim's SOL (`sol "tcp:..."`) connects to. */
import net from 'node:net';

export class SerialServer {
  readonly sockets = new Set<net.Socket>();
  /** everything typed to the node (latin1) */
  received = '';
  private server = net.createServer((s) => {
    this.sockets.add(s);
    s.on('data', (d) => (this.received += d.toString('latin1')));
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  });
  port = 0;
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  /** the node writes to its console */
  say(text: string | Buffer): void {
    for (const s of this.sockets) s.write(text);
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
