import { Client, Connection } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';
import { CONNECT_TIMEOUT_MS, TemporalUnreachableError, temporalUnreachable } from './deadlines.js';

export { TemporalUnreachableError };

/**
 * The SDK's client. `clerk status <site>` reads a site's run without it (site-status-rpc.ts), with
 * the SDK's default data converter and no TLS: what is configured here must be configured there too.
 */
export async function connectClient(config: ClerkConfig): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw temporalUnreachable(config, error);
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}

// The Web UI links, kept importable from here for the commands that already connect.
export { failureUiUrls, runUiUrl, siteWorkflowsQuery, siteWorkflowsUiUrl, webUiUrl } from './web-ui.js';
