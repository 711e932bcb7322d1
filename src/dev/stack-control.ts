import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClerkConfig } from '../config/index.js';
import { connectClient } from '../temporal/connection.js';
import { DEFAULT_SCHEDULE, ensureSchedule } from '../temporal/schedules.js';
import { stackInfoPath, type StackInfo, type StackServer } from './stack.js';

const clerkBin = fileURLToPath(new URL('../../bin/clerk.mjs', import.meta.url));
const READY_TIMEOUT_MS = 10 * 60_000;

export function stackLogPath(config: ClerkConfig): string {
  return path.join(config.dataDir, 'logs', 'stack.log');
}

export function readStackInfo(config: ClerkConfig): StackInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(stackInfoPath(config), 'utf8')) as StackInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

/**
 * Starts `clerk dev stack` in the background (if it is not running) and waits until it is ready.
 * A stack already running is kept as it is, whichever server it runs.
 */
export async function stackUp(config: ClerkConfig, log: (line: string) => void, options: { server?: StackServer } = {}): Promise<StackInfo> {
  const running = readStackInfo(config);
  if (running) {
    if (options.server && running.server && options.server !== running.server) {
      log(`the local stack is already running with the ${running.server} server; \`clerk dev down\` first to switch to ${options.server}`);
    }
    return withDefaultSchedule(config, running, log);
  }
  const logPath = stackLogPath(config);
  fs.mkdirSync(path.dirname(logPath), { recursive: true });
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, [clerkBin, 'dev', 'stack', '--server', options.server ?? 'dev'], { detached: true, stdio: ['ignore', logFd, logFd], env: process.env });
  child.unref();
  fs.closeSync(logFd);
  log(`starting the local stack in the background (pid ${child.pid}; log ${logPath})`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline && !exited) {
    const info = readStackInfo(config);
    if (info?.ready) return withDefaultSchedule(config, info, log);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const tail = fs.readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
  throw new Error(`the local stack did not become ready; last lines of ${logPath}:\n${tail}`);
}

/**
 * Creates the default schedule (`nightly-refresh`, every site re-enqueued from 02:00 UTC over 4 hours)
 * unless a schedule of that name exists, whatever its settings: an operator's change is kept.
 */
async function withDefaultSchedule(config: ClerkConfig, info: StackInfo, log: (line: string) => void): Promise<StackInfo> {
  try {
    const client = await connectClient(config);
    try {
      if (await ensureSchedule(client, config, { ...DEFAULT_SCHEDULE, note: 'created by clerk dev up' })) {
        log(`created the schedule ${DEFAULT_SCHEDULE.name} (${DEFAULT_SCHEDULE.cron} UTC, spread 4h): \`clerk schedule describe ${DEFAULT_SCHEDULE.name}\``);
      }
    } finally {
      await client.connection.close();
    }
  } catch (error) {
    // The stack is up either way; the schedule is a convenience `clerk schedule create` also gives.
    log(`could not create the schedule ${DEFAULT_SCHEDULE.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return info;
}

/** Asks the stack to drain and stop, and waits for it to exit. */
export async function stackDown(config: ClerkConfig): Promise<boolean> {
  const info = readStackInfo(config);
  if (!info) return false;
  process.kill(info.pid, 'SIGTERM');
  for (let waited = 0; waited < 120_000; waited += 250) {
    try {
      process.kill(info.pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the local stack (pid ${info.pid}) did not stop within two minutes`);
}
