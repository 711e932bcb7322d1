import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Row counts and byte sizes fit comfortably in a double; strings would leak into every caller.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Db = Kysely<Database>;

/** How long Postgres keeps a session that sits idle inside a transaction before ending it. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

export interface DbOptions {
  maxConnections?: number;
}

export function connectDatabase(databaseUrl: string, options: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // A worker host that drops off the network mid-transaction would otherwise hold its row locks
    // (a page, the site's progress row) until TCP gives up, hours later, stalling every other host's
    // writes to that site. No clerk transaction waits between statements for anywhere near this long.
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
  });
  // An idle client losing its server (Postgres restarting) must not crash the worker:
  // the next query gets a fresh connection, and a failed activity is retried by Temporal.
  pool.on('error', () => {});
  // The same for a client that is checked out when its server goes away: the query it runs fails
  // (and the activity is retried), but the client's own 'error' event must not crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
