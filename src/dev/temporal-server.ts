import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalHostPort, type ClerkConfig } from '../config/index.js';
import { clerkSearchAttributes } from '../workflows/search-attributes.js';
import { findTemporalCli } from './temporal-cli.js';

export interface DevServer {
  address: string;
  uiPort: number;
  stop(): Promise<void>;
}

/**
 * Starts the real Temporal CLI dev server: SQLite persistence in the data folder, clerk's search
 * attributes, the new matcher (so task priorities are honoured) and the Web UI. Without a local
 * CLI binary the SDK downloads one, which needs internet.
 */
export async function startTemporalDevServer(config: ClerkConfig, options: { persist?: boolean; port?: number; uiPort?: number } = {}): Promise<DevServer> {
  const { host, port } = temporalHostPort(config);
  const cli = findTemporalCli(config);
  const persist = options.persist ?? true;
  if (persist) fs.mkdirSync(path.dirname(config.temporal.dbFilename), { recursive: true });
  const uiPort = options.uiPort ?? config.temporal.uiPort;
  const env = await TestWorkflowEnvironment.createLocal({
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
        '--dynamic-config-value',
        'matching.useNewMatcher=true',
        // Priority orders tasks within one partition: with the default 4, a high-priority page can
        // wait behind low ones on another partition (docs/OPERATIONS.md, Priorities). One machine
        // needs no more than one.
        '--dynamic-config-value',
        'matching.numTaskqueueReadPartitions=1',
        '--dynamic-config-value',
        'matching.numTaskqueueWritePartitions=1',
        '--sqlite-pragma',
        'journal_mode=WAL',
        '--sqlite-pragma',
        'synchronous=NORMAL',
      ],
    },
  });
  return { address: env.address, uiPort, stop: () => env.teardown() };
}
