import type { Client } from '@temporalio/client';
import { effectiveDatabaseUrl, loadConfig, type ClerkConfig } from '../config/index.js';
import { connectDatabase, type Db } from '../db/connect.js';
import type { FetcherRegistry } from '../fetchers/index.js';

import { ExitCode } from './exit-code.js';

// Kept here too, so commands import everything they share from one place.
export { ExitCode };

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

let cachedConfig: ClerkConfig | undefined;

export function config(): ClerkConfig {
  cachedConfig ??= loadConfig();
  return cachedConfig;
}

/**
 * Runs `work` with a pool of at most `connections` Postgres connections (2 by default: a command's
 * queries in parallel). Each connection is a handshake, and a new server process that reads its
 * catalogs again at its first queries: a command whose queries are small asks for 1.
 */
export async function withDb<T>(work: (db: Db) => Promise<T>, options: { connections?: number } = {}): Promise<T> {
  const url = effectiveDatabaseUrl(config());
  const db = connectDatabase(url, { maxConnections: options.connections ?? 2 });
  try {
    // The pool's first connection, made before the work runs and then kept for its first query:
    // an unreachable Postgres (or refused login) shows here, as a clear error, without a separate
    // connection (a whole handshake) made only to check.
    try {
      await db.connection().execute(async () => {});
    } catch (error) {
      const hint = config().databaseUrl ? 'check DATABASE_URL' : 'start the local stack with `clerk dev up`, or set DATABASE_URL';
      throw new CliError(`cannot reach Postgres at ${redact(url)}: ${hint}`, ExitCode.unavailable);
    }
    return await work(db);
  } finally {
    await db.destroy();
  }
}

export async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: commands that never talk to Temporal do not load its client.
  const { connectClient } = await import('../temporal/connection.js');
  const client = await connectClient(config());
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

/**
 * The errors a user causes (a malformed subdomain, an unknown site, a bad setting or plugin), by
 * class name: matching the classes themselves would load every module that defines one (the
 * fetchers, cheerio, zod, the Temporal client) into every command, to classify an error.
 */
const usageErrors = new Set(['InvalidSubdomainError', 'UnknownSiteError', 'ConfigError', 'SiteSettingsError', 'UnknownFetcherError', 'PluginError']);

/** Maps the errors users cause or meet to a message and an exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (!(error instanceof Error)) return ExitCode.failed;
  if (usageErrors.has(error.name)) return ExitCode.usage;
  if (error.name === 'TemporalUnreachableError') return ExitCode.unavailable;
  return ExitCode.failed;
}

/** The built-in fetchers and the plugins CLERK_FETCHER_PLUGINS names (loaded on first use: they pull in cheerio and zod). */
export async function fetchers(): Promise<FetcherRegistry> {
  const { fetcherRegistry } = await import('../fetchers/index.js');
  return fetcherRegistry(config().fetcherPlugins);
}

/**
 * Asks before a destructive step unless --yes was given. Without a terminal to ask on, it refuses:
 * a script must say --yes.
 */
export async function confirm(question: string, options: { yes?: boolean }): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY) throw new CliError(`${question} Refusing without --yes (no terminal to ask on).`, ExitCode.usage);
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('cancelled; nothing was changed', ExitCode.failed);
  } finally {
    prompt.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
