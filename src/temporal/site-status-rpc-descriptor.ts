import type * as protobuf from 'protobufjs';
import proto from '@temporalio/proto';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import clientPackage from '@temporalio/client/package.json' with { type: 'json' };
import { statusQuery } from '../workflows/site.js';

/**
 * Everything the direct calls of `clerk status <site>` (site-status-rpc.ts) need to know of
 * Temporal's API and of the SDK, read from @temporalio/proto and @temporalio/client themselves, so it
 * can never drift from the SDK clerk is built with. bin/build.mjs computes it once and compiles it
 * into the CLI; the TypeScript (development, tests) computes it at the first use.
 */
export interface SiteStatusRpcDescriptor {
  /** protobufjs JSON of just the messages and fields the two calls write and read: unknown fields are skipped when decoding. */
  messages: protobuf.INamespace;
  describe: RpcMethod;
  query: RpcMethod;
  /**
   * google.rpc.Status, the details of a failed call (its grpc-status-details-bin header), and the
   * detail a missing workflow carries: a NOT_FOUND call is a missing workflow only with that detail
   * (the SDK gives a missing namespace its own error).
   */
  errorStatus: { type: string; workflowNotFoundDetail: string };
  /** The status query's name (statusQuery in src/workflows/site.ts). */
  queryType: string;
  /** QueryRejectCondition NONE: the SDK client's default, which clerk's client keeps. */
  queryRejectCondition: number;
  /** WorkflowExecutionStatus code -> the name the SDK's describe() gives it ('CANCELLED' for ..._CANCELED). */
  statusNames: Record<number, string>;
  /** The headers the SDK's Connection sends with every call. */
  clientName: string;
  clientVersion: string;
}

export interface RpcMethod {
  /** The gRPC path, /package.Service/Method. */
  path: string;
  requestType: string;
  responseType: string;
}

/** The fields a call writes or reads, by name, nested as the messages are; `true` is a scalar or enum field. */
interface FieldTree {
  [field: string]: true | FieldTree;
}

const execution: FieldTree = { workflowId: true, runId: true };
const payload: FieldTree = { metadata: true, data: true };

/** What `clerk status <site>` sends and reads: the run's id and status, and the status query's answer. */
const calls = {
  describe: {
    method: 'DescribeWorkflowExecution',
    request: { namespace: true, execution },
    response: { workflowExecutionInfo: { execution, status: true } },
  },
  query: {
    method: 'QueryWorkflow',
    request: { namespace: true, execution, query: { queryType: true, queryArgs: { payloads: payload }, header: { fields: payload } }, queryRejectCondition: true },
    response: { queryResult: { payloads: payload }, queryRejected: { status: true } },
  },
} satisfies Record<string, { method: string; request: FieldTree; response: FieldTree }>;

// A CommonJS module whose names Node cannot list for a named import.
const { google, temporal } = proto;
const workflowService = temporal.api.workflowservice.v1.WorkflowService as unknown as protobuf.Service;
const queryRejectConditions = temporal.api.enums.v1.QueryRejectCondition;
const workflowExecutionStatuses = temporal.api.enums.v1.WorkflowExecutionStatus;

export async function siteStatusRpcDescriptor(): Promise<SiteStatusRpcDescriptor> {
  const kept = new Map<protobuf.Type, Set<string>>();
  const enums = new Set<protobuf.Enum>();
  const keep = (type: protobuf.Type, tree: FieldTree) => {
    const names = kept.get(type) ?? new Set<string>();
    kept.set(type, names);
    for (const [name, subtree] of Object.entries(tree)) {
      const field = type.fields[name];
      if (!field) throw new Error(`${type.fullName} has no field ${name}`);
      field.resolve();
      names.add(name);
      const resolved = field.resolvedType;
      if (resolved && 'values' in resolved) enums.add(resolved as protobuf.Enum);
      else if (resolved && subtree !== true) keep(resolved as protobuf.Type, subtree);
      else if (resolved || subtree !== true) throw new Error(`${type.fullName}.${name}: the field tree does not match the message`);
    }
  };
  const method = (call: (typeof calls)[keyof typeof calls]): RpcMethod => {
    const rpc = workflowService.methods[call.method];
    if (!rpc) throw new Error(`WorkflowService has no method ${call.method}`);
    rpc.resolve();
    keep(rpc.resolvedRequestType!, call.request);
    keep(rpc.resolvedResponseType!, call.response);
    return { path: `/${bare(workflowService.fullName)}/${rpc.name}`, requestType: bare(rpc.resolvedRequestType!.fullName), responseType: bare(rpc.resolvedResponseType!.fullName) };
  };
  const describe = method(calls.describe);
  const query = method(calls.query);
  const errorStatus = google.rpc.Status as unknown as protobuf.Type;
  keep(errorStatus, { details: { type_url: true, value: true } });
  const notFound = temporal.api.errordetails.v1.NotFoundFailure as unknown as protobuf.Type;

  const messages: protobuf.INamespace = {};
  for (const [type, names] of kept) {
    const fields = Object.fromEntries(
      [...names].map((name) => {
        const field = type.fields[name]!;
        const json = field.toJSON() as { type: string };
        // Absolute type names: the pruned messages keep their packages, but not their neighbours.
        return [name, field.resolvedType ? { ...json, type: field.resolvedType.fullName } : json];
      }),
    );
    place(messages, type.fullName, { ...edition(type), fields });
  }
  for (const enumType of enums) place(messages, enumType.fullName, { ...edition(enumType), values: { ...enumType.values } });

  const statusNames: Record<number, string> = {};
  for (const code of Object.values(workflowExecutionStatuses).filter((value): value is number => typeof value === 'number')) statusNames[code] = await sdkStatusName(code);

  return {
    messages,
    describe,
    query,
    errorStatus: { type: bare(errorStatus.fullName), workflowNotFoundDetail: bare(notFound.fullName) },
    queryType: statusQuery.name,
    queryRejectCondition: queryRejectConditions.QUERY_REJECT_CONDITION_NONE,
    statusNames,
    clientName: 'temporal-typescript',
    clientVersion: clientPackage.version,
  };
}

/** The name the SDK's WorkflowHandle.describe() gives a status code, from the SDK's own conversion. */
async function sdkStatusName(code: number): Promise<string> {
  // The least of a description it converts: its one required int64 (a protobufjs Long) needs only toNumber().
  const raw = { execution: { workflowId: '', runId: '' }, type: { name: '' }, status: code, historyLength: { toNumber: () => 0 }, startTime: { nanos: 0 } };
  const info = await executionInfoFromRaw(raw as never, undefined as never, {}, '');
  return info.status.name;
}

/** The protobuf edition a message or enum was written in, when not the default (proto3), as protobufjs's JSON says it. */
function edition(type: protobuf.Type | protobuf.Enum): { edition?: string } {
  const { edition } = type.toJSON() as { edition?: string };
  return edition ? { edition } : {};
}

/** Puts a message or enum at its full name (".temporal.api.common.v1.Payload") in a protobufjs JSON namespace. */
function place(root: protobuf.INamespace, fullName: string, definition: object): void {
  const path = bare(fullName).split('.');
  let namespace = root;
  for (const part of path.slice(0, -1)) {
    namespace.nested ??= {};
    namespace = (namespace.nested[part] ??= {}) as protobuf.INamespace;
  }
  namespace.nested ??= {};
  namespace.nested[path.at(-1)!] = definition as protobuf.AnyNestedObject;
}

function bare(fullName: string): string {
  return fullName.replace(/^\./, '');
}
