import net from 'node:net';

/** True when something accepts TCP connections at host:port. */
export async function isTemporalReachable(address: string, timeoutMs = 1_000): Promise<boolean> {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return false;
  return new Promise((resolve) => {
    const socket = net.connect({ host: match[1], port: Number(match[2]) });
    const done = (reachable: boolean) => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A loopback (or `host`) port nothing listens on right now: bound by the OS, then released. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
