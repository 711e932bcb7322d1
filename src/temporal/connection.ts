import { Client, Connection } from '@temporalio/client';
import type { ClerkConfig } from '../config/index.js';

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

export async function connectClient(config: ClerkConfig): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5 seconds' });
  } catch (error) {
    throw new TemporalUnreachableError(
      `cannot reach the Temporal server at ${config.temporal.address} (${(error as Error).message}); start the local stack with \`clerk dev up\` or set TEMPORAL_ADDRESS`,
    );
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}

export function webUiUrl(config: ClerkConfig, workflowId?: string): string {
  const host = config.temporal.address.replace(/:\d+$/, '').replace('0.0.0.0', '127.0.0.1');
  const base = `http://${host === 'localhost' ? '127.0.0.1' : host}:${config.temporal.uiPort}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
  return workflowId ? `${base}/workflows/${encodeURIComponent(workflowId)}` : `${base}/workflows`;
}
