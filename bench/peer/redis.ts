import { spawn } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../src/dev/probes.js';

export interface ThrowawayRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A private redis-server for one benchmark or test, on a free port, with persistence off (no RDB
 * snapshots, no append-only file): BullMQ's state lives and dies with it, like the in-memory
 * Temporal dev server of the bench stack. The machine's own Redis (6379) is never touched.
 */
export async function startThrowawayRedis(executable = 'redis-server'): Promise<ThrowawayRedis> {
  const port = await freePort();
  const child = spawn(executable, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new Error(`cannot start ${executable}: ${error.message} (the BullMQ peer needs redis-server on PATH; bin/setup.mjs installs it)`))));
  spawnFailed.catch(() => {});
  const exitedEarly = exited.then(() => Promise.reject(new Error(`${executable} exited at start: ${output.slice(-2000)}`)));
  exitedEarly.catch(() => {});
  await Promise.race([waitUntilAnswering(port), spawnFailed, exitedEarly]);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves once the server answers PING on the port (within 10 s). */
async function waitUntilAnswering(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await pings(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

