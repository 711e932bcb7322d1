import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerType } from '../../src/activities/index.js';

const clerkBin = fileURLToPath(new URL('../../bin/clerk.mjs', import.meta.url));

export interface WorkerProcess {
  readonly type: WorkerType;
  /** Kills the current process with SIGKILL (no draining, like a crashed machine) and waits for it to die. */
  kill(): Promise<void>;
  /** Starts a fresh process of the same type and waits until it polls. */
  restart(): Promise<void>;
  /** Stops it gracefully (SIGTERM drains in-flight work) and says how it exited. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>;
  /** What the current process printed. */
  readonly output: string;
  readonly kills: number;
  /** The current process, and whether it is still running (it has not exited or been killed). */
  readonly pid: number | undefined;
  readonly running: boolean;
}

/**
 * A real `clerk worker <type>` process, as production runs it, pointed at a test's database,
 * Temporal server and task queues through the environment.
 */
export async function startWorkerProcess(type: WorkerType, env: Record<string, string>): Promise<WorkerProcess> {
  let child: ChildProcess | undefined;
  let kills = 0;
  let output = '';

  const launch = async () => {
    const proc = spawn(process.execPath, [clerkBin, 'worker', type], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`worker ${type} polling`)) resolve();
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      proc.once('exit', (code, signal) => reject(new Error(`worker ${type} exited before polling (${code ?? signal}): ${output.slice(-2000)}`)));
    });
  };

  const waitForExit = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  await launch();
  return {
    type,
    get kills() {
      return kills;
    },
    get pid() {
      return child?.pid;
    },
    get output() {
      return output;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      const proc = child!;
      proc.kill('SIGKILL');
      kills++;
      await waitForExit(proc);
    },
    restart: launch,
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return undefined;
      proc.kill('SIGTERM');
      await waitForExit(proc);
      return { code: proc.exitCode, signal: proc.signalCode };
    },
  };
}
