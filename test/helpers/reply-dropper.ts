/**
 * A TCP proxy in front of a Redis that can lose one reply on purpose: the command reaches Redis
 * and runs, and the connection is reset before its reply gets back, as a network fault would do.
 * The client cannot tell whether the command ran. Loopback only.
 */
import { createServer, type Server, type Socket } from 'node:net';

export class ReplyDropper {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  /** Drop the reply to the next client chunk that contains one of these byte strings. */
  private armed: Buffer[] = [];
  dropped = 0;
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<ReplyDropper> {
    const proxy = new ReplyDropper(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The next command whose bytes contain `marker` runs on Redis, and its reply is lost. */
  dropReplyTo(marker: string | Buffer): void {
    this.armed.push(Buffer.isBuffer(marker) ? marker : Buffer.from(marker));
  }

  private accept(client: Socket): void {
    const upstream = new (client.constructor as typeof Socket)();
    const pair = { client, upstream };
    this.pairs.add(pair);
    let dropNext = false;
    upstream.connect(this.target.port, this.target.host);
    client.on('data', (chunk: Buffer) => {
      const hit = this.armed.findIndex((m) => chunk.includes(m));
      if (hit >= 0) {
        this.armed.splice(hit, 1);
        dropNext = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropNext) {
        // The command ran; its reply never arrives: reset the client's connection.
        this.dropped += 1;
        dropNext = false;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
