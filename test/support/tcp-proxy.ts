import { createServer, connect, type Server, type Socket } from 'node:net';

/** One relayed connection: the socket the proxy accepted and the one it opened to the target. */
interface Link {
  client: Socket;
  upstream: Socket;
  /** Bytes read during a freeze, each with the socket it is for, in arrival order. */
  held: [Socket, Buffer][];
  /** A side ended or failed during a freeze. */
  abandoned: boolean;
}

/**
 * A TCP relay in front of PostgreSQL that a test can cut (refusing and dropping connections, as an
 * outage does) and restore on the same port, or freeze (a path that stalls without a reset) and
 * thaw.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private frozen = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts relaying (on the same port as before, after a cut). */
  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const link: Link = { client, upstream, held: [], abandoned: false };
      this.links.add(link);
      this.relay(link, client, upstream);
      this.relay(link, upstream, client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  /**
   * Relays by hand rather than with `pipe`, so that a freeze can hold what arrives without pausing
   * the sockets: a paused socket would not notice its peer closing.
   */
  private relay(link: Link, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (this.frozen) link.held.push([to, chunk]);
      else if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => {
      if (this.frozen) link.abandoned = true;
      else to.end();
    });
    from.on('error', () => {
      if (this.frozen) link.abandoned = true;
      else to.destroy();
    });
    from.on('close', () => {
      if (this.frozen) link.abandoned = true;
      if (link.client.destroyed && link.upstream.destroyed) this.links.delete(link);
    });
  }

  /**
   * Stalls the path without a reset: open connections stay open but nothing crosses them in
   * either direction, and new connections are accepted but get nothing. What arrives is held for
   * `thaw()`; nobody sees a FIN or RST meanwhile.
   */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * Ends a freeze: held bytes are delivered and relaying resumes. A connection whose side ended
   * or failed during the freeze is dropped with what it held: that side gave up on the stalled
   * path, and a socket that is closed no longer retransmits what never got through.
   */
  thaw(): void {
    this.frozen = false;
    for (const link of this.links) {
      const held = link.held.splice(0);
      if (link.abandoned) {
        link.client.destroy();
        link.upstream.destroy();
      } else {
        for (const [to, chunk] of held) to.write(chunk);
      }
    }
  }

  /** Drops every open connection and refuses new ones; a freeze ends with it. */
  async cut(): Promise<void> {
    this.frozen = false;
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }
}
