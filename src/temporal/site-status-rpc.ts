import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { isRetryableError } from '@temporalio/client/lib/grpc-retry.js';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common/lib/converter/payload-converter.js';
import { normalizeGrpcEndpointAddress } from '@temporalio/common/lib/internal-non-workflow/parse-host-uri.js';
import type { Payload } from '@temporalio/common';
import type { ClerkConfig } from '../config/index.js';
import { siteWorkflowId, type SiteStatus } from '../workflows/types.js';
import { CONNECT_TIMEOUT_MS, STATUS_QUERY_TIMEOUT_MS, temporalUnreachable } from './deadlines.js';
import type { RunDescription, SiteRunReader } from './site-runs.js';
import type { RpcMethod, SiteStatusRpcDescriptor } from './site-status-rpc-descriptor.js';

/**
 * `clerk status <site>` reads a site's run with two calls of Temporal's WorkflowService:
 * DescribeWorkflowExecution and QueryWorkflow. This makes them over @grpc/grpc-js with just the
 * protobuf messages they use (site-status-rpc-descriptor.ts), because the SDK's client turns all
 * of @temporalio/proto (516 KB of JSON) into protobufjs reflection when it is loaded: about 0.3 s of
 * every `clerk status <site>`. The answers are what the SDK's client gives: payloads are decoded by
 * the SDK's own default payload converter, status names come from the SDK's own conversion. Whatever
 * it does not handle exactly as the SDK does (a failed call the SDK would retry or treat specially,
 * a payload the converter refuses, an answer missing a field) is asked again through the SDK's client.
 */

/** Set by bin/build.mjs in the compiled CLI (null if the build could not make it); the TypeScript makes it at first use. */
declare const CLERK_SITE_STATUS_RPC: SiteStatusRpcDescriptor | null | undefined;

/** The longest single wait for the server while connecting: how long a closed connection can keep a command alive. */
const WAIT_SLICE_MS = 100;

export interface SiteRunConnection extends SiteRunReader {
  close(): Promise<void>;
}

/** A connection being made: `connected()` waits for it, `close()` ends it whether made or not. */
export interface PendingSiteRuns {
  /** The connection, or TemporalUnreachableError as connectClient throws it. */
  connected(): Promise<SiteRunConnection>;
  close(): Promise<void>;
}

/**
 * Starts connecting to Temporal to read site runs, so a command can do its other work meanwhile.
 * Where the calls cannot be made directly, the SDK's client is connected instead, when first asked for.
 */
export async function openSiteRuns(config: ClerkConfig): Promise<PendingSiteRuns> {
  const descriptor = await siteStatusRpcDescriptor();
  const address = descriptor ? sdkAddress(config.temporal.address) : undefined;
  if (!descriptor || !address) {
    let sdk: Promise<SiteRunConnection> | undefined;
    return {
      connected: () => (sdk ??= connectSdkClient(config)),
      close: async () => (await sdk?.catch(() => undefined))?.close(),
    };
  }
  const runs = new DirectSiteRuns(descriptor, address, config);
  const connecting = runs.connect().then(() => runs);
  connecting.catch(() => {}); // reported by connected()
  return { connected: () => connecting, close: () => runs.close() };
}

/** Connects to Temporal to read site runs, throwing TemporalUnreachableError as connectClient does. */
export async function connectSiteRuns(config: ClerkConfig): Promise<SiteRunConnection> {
  const pending = await openSiteRuns(config);
  return pending.connected();
}

/** The descriptor, or null when it cannot be made (the calls then go through the SDK's client). */
export async function siteStatusRpcDescriptor(): Promise<SiteStatusRpcDescriptor | null> {
  if (typeof CLERK_SITE_STATUS_RPC !== 'undefined') return CLERK_SITE_STATUS_RPC;
  try {
    const { siteStatusRpcDescriptor: make } = await import('./site-status-rpc-descriptor.js');
    return await make();
  } catch {
    return null;
  }
}

/** The address the SDK's Connection dials (it adds the default port); undefined where it would refuse it. */
function sdkAddress(address: string): string | undefined {
  try {
    return normalizeGrpcEndpointAddress(address, 7233);
  } catch {
    return undefined;
  }
}

async function connectSdkClient(config: ClerkConfig): Promise<SiteRunConnection> {
  const [{ connectClient }, { clientRunReader }] = await Promise.all([import('./connection.js'), import('./site-runs.js')]);
  const client = await connectClient(config);
  return { ...clientRunReader(client), close: () => client.connection.close() };
}

interface DescribeResponse {
  workflowExecutionInfo: { execution: { runId: string } | null; status: number } | null;
}

interface QueryResponse {
  queryResult: { payloads: Payload[] } | null;
  queryRejected: { status: number } | null;
}

interface ErrorStatus {
  details: { type_url: string; value: Uint8Array }[];
}

class DirectSiteRuns implements SiteRunConnection {
  private readonly client: grpc.Client;
  private readonly types: protobuf.Root;
  private sdk: Promise<SiteRunConnection> | undefined;
  private closed = false;

  constructor(
    private readonly descriptor: SiteStatusRpcDescriptor,
    address: string,
    private readonly config: ClerkConfig,
  ) {
    this.types = protobuf.Root.fromJSON(descriptor.messages);
    // The SDK's Connection's defaults (no TLS: clerk's connectClient sets none).
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 15_000,
      max_receive_message_length: 128 * 1024 * 1024,
    });
  }

  /**
   * Waits for the server as the SDK's Connection.connect does (grpc-js's waitForReady, the same
   * deadline, the same error), in waits of at most WAIT_SLICE_MS: grpc-js does not end a wait when
   * its channel is closed, and a command that gives up early (an unknown site) would stay until the deadline.
   */
  async connect(): Promise<void> {
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => this.client.waitForReady(Math.min(deadline, Date.now() + WAIT_SLICE_MS), (error) => (error ? reject(error) : resolve())));
        return;
      } catch (error) {
        if (!this.closed && Date.now() < deadline) continue;
        await this.close();
        throw temporalUnreachable(this.config, error);
      }
    }
  }

  async describeRun(workflowId: string): Promise<RunDescription | undefined> {
    let response: DescribeResponse;
    try {
      response = await this.call<DescribeResponse>(this.descriptor.describe, { namespace: this.config.temporal.namespace, execution: { workflowId } });
    } catch (error) {
      if (this.isMissingWorkflow(error)) return undefined;
      return (await this.viaSdk()).describeRun(workflowId);
    }
    const info = response.workflowExecutionInfo;
    const status = info ? this.descriptor.statusNames[info.status] : undefined;
    if (!info?.execution?.runId || status === undefined) return (await this.viaSdk()).describeRun(workflowId);
    return { runId: info.execution.runId, status };
  }

  async querySiteStatus(subdomain: string): Promise<SiteStatus | undefined> {
    const request = {
      namespace: this.config.temporal.namespace,
      execution: { workflowId: siteWorkflowId(subdomain) },
      query: { queryType: this.descriptor.queryType, queryArgs: { payloads: [] }, header: { fields: {} } },
      queryRejectCondition: this.descriptor.queryRejectCondition,
    };
    let response: QueryResponse;
    try {
      response = await this.call<QueryResponse>(this.descriptor.query, request, Date.now() + STATUS_QUERY_TIMEOUT_MS);
    } catch (error) {
      // querySiteStatus answers undefined for any failed query (no worker before the deadline, no
      // such workflow, ...), once the SDK's client has retried those it retries.
      if (isServiceError(error) && !isRetryableError(error)) return undefined;
      return (await this.viaSdk()).querySiteStatus(subdomain);
    }
    // Rejected, or no result: the SDK's client throws, and querySiteStatus answers undefined.
    if (response.queryRejected || !response.queryResult) return undefined;
    try {
      return fromPayloadsAtIndex(defaultPayloadConverter, 0, response.queryResult.payloads) as SiteStatus | undefined;
    } catch {
      return (await this.viaSdk()).querySiteStatus(subdomain);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    const sdk = await this.sdk?.catch(() => undefined);
    await sdk?.close();
  }

  /** One unary call, with the headers the SDK's client sends; the answer is decoded here, so a surprise in it is an ordinary error. */
  private async call<T>(method: RpcMethod, request: object, deadline?: number): Promise<T> {
    const requestType = this.types.lookupType(method.requestType);
    const responseType = this.types.lookupType(method.responseType);
    const metadata = new grpc.Metadata();
    metadata.set('client-name', this.descriptor.clientName);
    metadata.set('client-version', this.descriptor.clientVersion);
    metadata.set('temporal-namespace', this.config.temporal.namespace);
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        (message: object) => Buffer.from(requestType.encode(message).finish()),
        (buffer: Buffer) => buffer,
        request,
        metadata,
        deadline === undefined ? {} : { deadline },
        (error, response) => (error || !response ? reject(error ?? new Error('no response')) : resolve(response)),
      );
    });
    return responseType.decode(bytes) as unknown as T;
  }

  /**
   * NOT_FOUND is a missing workflow (the SDK's WorkflowNotFoundError, which describeRun answers
   * with undefined) only when its details say so; a missing namespace, say, is the SDK's to report.
   */
  private isMissingWorkflow(error: unknown): boolean {
    if (!isServiceError(error) || error.code !== grpc.status.NOT_FOUND) return false;
    const [details] = error.metadata.get('grpc-status-details-bin');
    if (details === undefined) return true;
    if (typeof details === 'string') return false;
    try {
      const status = this.types.lookupType(this.descriptor.errorStatus.type).decode(details) as unknown as ErrorStatus;
      return status.details.every((detail) => detail.type_url.replace(/^type\.googleapis\.com\//, '') === this.descriptor.errorStatus.workflowNotFoundDetail);
    } catch {
      return false;
    }
  }

  /** The SDK's client, connected at the first call that needs it; never once closed (a call cut short by close() fails). */
  private viaSdk(): Promise<SiteRunConnection> {
    if (this.closed) return Promise.reject(new Error('the connection to Temporal was closed'));
    this.sdk ??= connectSdkClient(this.config);
    return this.sdk;
  }
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number' && (error as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata;
}
