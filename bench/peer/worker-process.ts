/**
 * A BullMQ peer worker in a process of its own, as a deployment would run it: the benchmark's
 * failure case kills it with SIGKILL mid-run and starts another. Run as
 * `node --import tsx bench/peer/worker-process.ts <site|ocr>...` with clerk's environment (DATABASE_URL,
 * CLERK_DATA_DIR, CLERK_OCR_CONCURRENCY...) plus CLERK_PEER_REDIS_URL and CLERK_PEER_PREFIX.
 * Prints "peer worker polling" once its workers are up; SIGTERM closes them gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { connectDatabase } from '../../src/db/connect.js';
import { openDocumentStore } from '../../src/storage/open.js';
import { startPeerWorkers, type PeerRole } from './bullmq-pipeline.js';

const READY_LINE = 'peer worker polling';
const scriptPath = fileURLToPath(import.meta.url);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface PeerWorkerProcess {
  /** SIGKILL (no draining, like a crashed machine); resolves once it is dead. */
  kill(): Promise<void>;
  /** A fresh process with the same roles, once it is polling. */
  restart(): Promise<void>;
  /** SIGTERM: BullMQ closes its workers gracefully. */
  stop(): Promise<void>;
}

/** Starts `roles` of the peer in a child process pointed at the given environment, and waits until it polls. */
export async function startPeerWorkerProcess(roles: readonly PeerRole[], env: Record<string, string>): Promise<PeerWorkerProcess> {
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', scriptPath, ...roles], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(READY_LINE)) resolve();
      });
      proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      proc.once('exit', (code, signal) => reject(new Error(`peer worker exited before polling (${code ?? signal}): ${output.slice(-2000)}`)));
    });
  };
  const exit = (proc: ChildProcess, signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    return exited;
  };
  await launch();
  return {
    kill: () => exit(child!, 'SIGKILL'),
    restart: launch,
    stop: () => exit(child!, 'SIGTERM'),
  };
}

async function main(roles: PeerRole[]): Promise<void> {
  const redisUrl = process.env.CLERK_PEER_REDIS_URL;
  if (!redisUrl) throw new Error('CLERK_PEER_REDIS_URL is not set');
  const config = loadConfig(process.env);
  const db = connectDatabase(config.databaseUrl!);
  const store = openDocumentStore(config);
  const workers = await startPeerWorkers({ deps: { db, store, config }, redisUrl, prefix: process.env.CLERK_PEER_PREFIX, roles });
  console.log(`${READY_LINE} ${roles.join(', ')}`);
  process.once('SIGTERM', () => {
    void workers
      .close()
      .then(() => db.destroy())
      .then(() => process.exit(0));
  });
}

if (process.argv[1] === scriptPath) {
  const roles = process.argv.slice(2).filter((role): role is PeerRole => role === 'site' || role === 'ocr');
  main(roles.length > 0 ? roles : ['site', 'ocr']).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
