import net from 'node:net';

export interface TcpForward {
  /** Where the forward listens, as host:port. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Relays TCP connections from listen.host:listen.port to target.host:target.port, byte for byte.
 * The multi-host test needs it because a network namespace cannot reach the root namespace's
 * 127.0.0.1, where the test Postgres listens; the machine's own server is left as it is.
 */
export async function forwardTcp(listen: { host: string; port?: number }, target: { host: string; port: number }): Promise<TcpForward> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    // Either side failing or ending takes the other down with it, as a direct connection would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${listen.host}:${port}`,
    host: listen.host,
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
