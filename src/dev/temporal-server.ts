import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalHostPort, type ClerkConfig } from '../config/index.js';
import { clerkSearchAttributes } from '../workflows/search-attributes.js';
import { devServerDynamicConfigArgs, serverGoEnvironment } from './server-tuning.js';
import { findTemporalCli } from './temporal-cli.js';

export interface DevServer {
  address: string;
  uiPort: number;
  stop(): Promise<void>;
}

/**
 * Starts the real Temporal CLI dev server: SQLite persistence in the data folder, clerk's search
 * attributes, clerk's server settings (server-tuning.ts) and the Web UI. Without a local
 * CLI binary the SDK downloads one, which needs internet.
 */
export async function startTemporalDevServer(config: ClerkConfig, options: { persist?: boolean; port?: number; uiPort?: number } = {}): Promise<DevServer> {
  const { host, port } = temporalHostPort(config);
  const cli = findTemporalCli(config);
  const persist = options.persist ?? true;
  if (persist) fs.mkdirSync(path.dirname(config.temporal.dbFilename), { recursive: true });
  const uiPort = options.uiPort ?? config.temporal.uiPort;
  // The SDK starts the CLI with this process's environment: the Go runtime's settings are put there
  // for the start, and taken out again once the server is up.
  const env = await withEnvironment(serverGoEnvironment(), () => TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip: host,
      // Port 0 lets the SDK pick a free port (tests).
      ...((options.port ?? port) === 0 ? {} : { port: options.port ?? port }),
      namespace: config.temporal.namespace,
      ui: true,
      uiPort,
      ...(persist ? { dbFilename: config.temporal.dbFilename } : {}),
      searchAttributes: clerkSearchAttributes,
      extraArgs: [
        ...devServerDynamicConfigArgs(),
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=NORMAL',
      ],
    },
  }));
  return { address: env.address, uiPort, stop: () => env.teardown() };
}

/** Runs `start` with `variables` set in process.env, then puts back what was there. */
async function withEnvironment<T>(variables: Record<string, string>, start: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await start();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
