// The production-shaped Temporal server: the `temporal-server` binary with Postgres persistence,
// the shape of a self-hosted cluster (one process running every service). Dev tooling, like
// temporal-server.ts, which runs the CLI's dev server with SQLite instead.
//
// Usage (tests, `clerk dev up --server cluster`, the multi-host test):
//
//   const binaries = await findOrBuildTemporalServer(config);          // builds once per machine
//   const postgres = temporalPostgresFromUrl(adminUrl, 'test_abc_');    // or { host, port, user, password }
//   await setupTemporalSchema(binaries, postgres);                      // idempotent
//   const cluster = await startTemporalCluster(binaries, {
//     rootDir: '/tmp/cluster',                    // config, dynamic config and server.log
//     host: '10.200.0.1', port: 7233,             // frontend; other services use the next 8 ports
//     postgres, namespace: 'default',
//   });
//   ... cluster.address ...                       // '10.200.0.1:7233', namespace and search attributes registered
//   await cluster.stop();                         // SIGTERM, SIGKILL after a grace period
//   await dropTemporalDatabases(binaries, postgres);                    // tests only
//
// Bound to an address other than 127.0.0.1, every service listens on that address (not loopback),
// so workers in other network namespaces reach the frontend over the bridge.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { ClerkConfig } from '../config/index.js';
import { clusterDynamicConfig, serverGoEnvironment } from './server-tuning.js';
import { clerkSearchAttributes } from '../workflows/search-attributes.js';

const execFileAsync = promisify(execFile);

/** The version docker-compose.yml runs (temporalio/server:1.29.1) and the CLI's dev server embeds. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const SERVER_MODULE = 'go.temporal.io/server';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
}

/** Where Temporal keeps its state: two databases on one Postgres server. */
export interface TemporalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Defaults: `temporal` and `temporal_visibility`. */
  databases?: { main: string; visibility: string };
}

export interface TemporalClusterOptions {
  /** Holds config/development.yaml, config/dynamicconfig.yaml and server.log. */
  rootDir: string;
  /** Address every service binds to; 127.0.0.1 keeps the cluster on loopback. */
  host: string;
  /** Address the services announce to each other and clients dial; defaults to host (required when host is 0.0.0.0). */
  broadcastAddress?: string;
  /** The frontend's gRPC port; the other services take the next eight (see clusterPorts). */
  port: number;
  postgres: TemporalPostgres;
  namespace: string;
  /** Fixed when the databases are first used: a later change is refused by the server. */
  numHistoryShards?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface TemporalCluster {
  address: string;
  logPath: string;
  stop(): Promise<void>;
}

/** The per-user cache the server is built into, found by every clone on the machine. */
export function temporalServerCacheDir(config: ClerkConfig): string {
  return path.join(config.temporal.cliBuildCacheDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

export function findTemporalServer(config: ClerkConfig): TemporalServerBinaries | undefined {
  const dir = temporalServerCacheDir(config);
  const binaries = { server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool') };
  return fs.existsSync(binaries.server) && fs.existsSync(binaries.sqlTool) ? binaries : undefined;
}

/**
 * The server and its SQL tool from the cache, or built with `go install` (about 6 minutes cold,
 * seconds once Go's caches hold the module). The build goes to a temporary folder beside the cache
 * folder and is renamed into place, so a concurrent build or an interrupted one never leaves half a
 * cache. The SQL schemas need no copy: the SQL tool embeds them (`--schema-name`).
 */
export async function findOrBuildTemporalServer(config: ClerkConfig, log: (line: string) => void = () => {}): Promise<TemporalServerBinaries> {
  const found = findTemporalServer(config);
  if (found) return found;
  if (spawnSync('go', ['version']).status !== 0) {
    throw new Error(`the Temporal server ${TEMPORAL_SERVER_VERSION} is not built and Go is not installed: install Go >= 1.25, then run \`node bin/setup.mjs --with-cluster\``);
  }
  const finalDir = temporalServerCacheDir(config);
  fs.mkdirSync(path.dirname(finalDir), { recursive: true });
  removeAbandonedBuilds(finalDir);
  const buildDir = fs.mkdtempSync(`${finalDir}.build-`);
  try {
    const started = Date.now();
    log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} with go install (about 6 minutes the first time on a machine)...`);
    const env = { ...process.env, GOBIN: buildDir };
    for (const pkg of ['cmd/server', 'cmd/tools/sql']) {
      await execFileAsync('go', ['install', `${SERVER_MODULE}/${pkg}@${TEMPORAL_SERVER_VERSION}`], { env, maxBuffer: 64 * 1024 * 1024 });
    }
    fs.renameSync(path.join(buildDir, 'server'), path.join(buildDir, 'temporal-server'));
    fs.renameSync(path.join(buildDir, 'sql'), path.join(buildDir, 'temporal-sql-tool'));
    try {
      fs.renameSync(buildDir, finalDir);
    } catch (error) {
      // Another build finished first: its binaries are the same version, keep them.
      if (!findTemporalServer(config)) throw error;
    }
    log(`built the Temporal server into ${finalDir} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
  return findTemporalServer(config)!;
}

const ABANDONED_BUILD_AGE_MS = 3 * 3600_000;

/** A build killed mid-way leaves its temporary folder: remove those far older than any build takes. */
function removeAbandonedBuilds(finalDir: string): void {
  const prefix = `${path.basename(finalDir)}.build-`;
  for (const name of fs.readdirSync(path.dirname(finalDir))) {
    const candidate = path.join(path.dirname(finalDir), name);
    if (name.startsWith(prefix) && Date.now() - fs.statSync(candidate).mtimeMs > ABANDONED_BUILD_AGE_MS) {
      fs.rmSync(candidate, { recursive: true, force: true });
    }
  }
}

/** Postgres settings from a URL such as DATABASE_URL; `databasePrefix` keeps test runs apart. */
export function temporalPostgresFromUrl(url: string, databasePrefix = ''): TemporalPostgres {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    databases: { main: `${databasePrefix}temporal`, visibility: `${databasePrefix}temporal_visibility` },
  };
}

function databasesOf(postgres: TemporalPostgres): { main: string; visibility: string } {
  return postgres.databases ?? { main: 'temporal', visibility: 'temporal_visibility' };
}

/** Runs temporal-sql-tool with the connection in its environment, so the password stays off `ps`. */
async function runSqlTool(binaries: TemporalServerBinaries, postgres: TemporalPostgres, database: string, args: string[]): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: postgres.host,
    SQL_PORT: String(postgres.port),
    SQL_USER: postgres.user,
    SQL_PASSWORD: postgres.password,
    SQL_DATABASE: database,
  };
  try {
    await execFileAsync(binaries.sqlTool, args, { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`temporal-sql-tool ${args.join(' ')} on database ${database} failed:\n${(stderr || stdout || String(error)).trim()}`);
  }
}

/**
 * Creates Temporal's two databases and brings their schemas to the binary's version. Safe to run on
 * every start: an existing database is kept, setup-schema keeps a newer version, and update-schema
 * only applies the versions a database lacks.
 */
export async function setupTemporalSchema(binaries: TemporalServerBinaries, postgres: TemporalPostgres): Promise<void> {
  const { main, visibility } = databasesOf(postgres);
  for (const [database, schemaName] of [
    [main, 'postgresql/v12/temporal'],
    [visibility, 'postgresql/v12/visibility'],
  ] as const) {
    await runSqlTool(binaries, postgres, database, ['create-database']);
    await runSqlTool(binaries, postgres, database, ['setup-schema', '-v', '0.0']);
    await runSqlTool(binaries, postgres, database, ['update-schema', '--schema-name', schemaName]);
  }
}

/** For tests: removes both databases (the cluster must be stopped). */
export async function dropTemporalDatabases(binaries: TemporalServerBinaries, postgres: TemporalPostgres): Promise<void> {
  const { main, visibility } = databasesOf(postgres);
  for (const database of [main, visibility]) await runSqlTool(binaries, postgres, database, ['drop-database', '--force']);
}

/**
 * Every port a cluster listens on, derived from the frontend's, so two clusters on one machine
 * only need frontend ports at least nine apart.
 */
export function clusterPorts(frontendPort: number) {
  return {
    frontend: { grpcPort: frontendPort, membershipPort: frontendPort + 4, httpPort: frontendPort + 8 },
    history: { grpcPort: frontendPort + 1, membershipPort: frontendPort + 5 },
    matching: { grpcPort: frontendPort + 2, membershipPort: frontendPort + 6 },
    worker: { grpcPort: frontendPort + 3, membershipPort: frontendPort + 7 },
  };
}

const PORTS_PER_CLUSTER = 9;
// Temporal's SQL schema stores each service's membership port in a SMALLINT column
// (cluster_membership.rpc_port): a port above 32767 makes the server exit at start.
const HIGHEST_PORT = 32_767;

/** A frontend port whose whole block (clusterPorts) is free on `host`: for tests. */
export async function findFreeClusterPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * (HIGHEST_PORT - PORTS_PER_CLUSTER - 20_000));
    let free = true;
    for (let offset = 0; offset < PORTS_PER_CLUSTER && free; offset++) free = await isPortFree(host, candidate + offset);
    if (free) return candidate;
  }
  throw new Error(`found no ${PORTS_PER_CLUSTER} consecutive free ports on ${host}`);
}

function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The server's static config, modelled on the module's config/development-postgres12.yaml. JSON is
 * YAML, so it is written as JSON: no YAML library and no quoting to get wrong.
 */
export function clusterConfig(options: TemporalClusterOptions, dynamicConfigPath: string): object {
  const { main, visibility } = databasesOf(options.postgres);
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${options.postgres.host}:${options.postgres.port}`,
      connectProtocol: 'tcp',
      user: options.postgres.user,
      password: options.postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const loopback = options.host === '127.0.0.1' || options.host === 'localhost';
  const announced = announcedAddress(options);
  // Loopback: the usual bindOnLocalHost. Any other address: bind to it, so other hosts can connect.
  const bind = loopback ? { bindOnLocalHost: true } : { bindOnIP: options.host };
  if (options.port < 1 || options.port + PORTS_PER_CLUSTER - 1 > HIGHEST_PORT) {
    throw new Error(`the Temporal frontend port must be between 1 and ${HIGHEST_PORT - PORTS_PER_CLUSTER + 1} (its services use the next eight ports, and Temporal's Postgres schema stores them as 16-bit signed numbers); got ${options.port}`);
  }
  const ports = clusterPorts(options.port);
  const service = (rpc: object) => ({ rpc: { ...rpc, ...bind } });
  return {
    log: { stdout: true, level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.numHistoryShards ?? 4,
      // Per service, and the one process runs four: at most 4 x (10 + 2) connections, so clerk's own
      // pools still fit under a default Postgres's 100.
      datastores: { 'postgres-default': datastore(main, 10), 'postgres-visibility': datastore(visibility, 2) },
    },
    global: {
      // Ringpop announces this address to the other services: it must be the one they can reach.
      membership: { maxJoinDuration: '30s', broadcastAddress: announced },
    },
    services: {
      frontend: service(ports.frontend),
      history: service(ports.history),
      matching: service(ports.matching),
      worker: service(ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${announced}:${options.port}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigPath, pollInterval: '10s' },
  };
}

/** 0.0.0.0 is no address to dial: a cluster bound to every interface must say which one to announce. */
function announcedAddress(options: TemporalClusterOptions): string {
  if (options.broadcastAddress) return options.broadcastAddress;
  if (options.host === 'localhost') return '127.0.0.1';
  if (options.host === '0.0.0.0' || options.host === '::') {
    throw new Error(`a Temporal cluster bound to ${options.host} needs a broadcastAddress: the IP the other services and the clients reach it at`);
  }
  return options.host;
}

/**
 * Writes the config, starts `temporal-server` on it, waits for the frontend and registers the
 * namespace and clerk's search attributes. The schema must be set up (setupTemporalSchema). Started
 * again on the same databases, the cluster carries on where it stopped.
 */
export async function startTemporalCluster(binaries: TemporalServerBinaries, options: TemporalClusterOptions): Promise<TemporalCluster> {
  const configDir = path.join(options.rootDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const dynamicConfigPath = path.join(configDir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamicConfigPath, JSON.stringify(clusterDynamicConfig(), null, 2));
  // Holds the database password: readable by its owner only.
  fs.writeFileSync(path.join(configDir, 'development.yaml'), JSON.stringify(clusterConfig(options, dynamicConfigPath), null, 2), { mode: 0o600 });

  const logPath = path.join(options.rootDir, 'server.log');
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(binaries.server, ['--root', options.rootDir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...serverGoEnvironment() },
  });
  fs.closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `${announcedAddress(options)}:${options.port}`;
  const cluster: TemporalCluster = { address, logPath, stop: () => stopProcess(child, exited) };
  try {
    await waitForFrontend(address, child, logPath);
    await registerNamespace(address, options.namespace);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

const STOP_GRACE_MS = 15_000;

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref())]);
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
}

const FRONTEND_READY_TIMEOUT_MS = 90_000;

async function waitForFrontend(address: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + FRONTEND_READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`temporal-server exited (${child.exitCode ?? child.signalCode}) before its frontend answered; last lines of ${logPath}:\n${tail(logPath)}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await sleep(250);
    }
  }
  throw new Error(`the Temporal frontend at ${address} did not answer within ${FRONTEND_READY_TIMEOUT_MS / 1000} s (${String(lastError)}); see ${logPath}`);
}

// temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: @temporalio/proto is not a
// dependency of clerk's own (health.ts does the same).
const INDEXED_VALUE_TYPE_KEYWORD = 2;
const NAMESPACE_READY_TIMEOUT_MS = 60_000;

/**
 * Registers the namespace (kept if it exists) and clerk's Keyword search attributes (added only when
 * missing), through the SDK's gRPC services: no CLI needed. Returns once a visibility query on the
 * attributes succeeds, i.e. once the frontend's namespace cache has caught up and a workflow can
 * start with them.
 */
async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + NAMESPACE_READY_TIMEOUT_MS;
    await retryUntil(deadline, async () => {
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } catch (error) {
        if (grpcCode(error) !== GRPC_NOT_FOUND) throw error;
        await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('30 days') });
      }
    });
    await retryUntil(deadline, async () => {
      const existing = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = clerkSearchAttributes.filter((key) => !(key.name in (existing.customAttributes ?? {})));
      if (missing.length > 0) {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPE_KEYWORD])),
        });
      }
      const query = clerkSearchAttributes.map((key) => `${key.name} = "probe"`).join(' AND ');
      await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
    });
  } finally {
    await connection.close();
  }
}

const GRPC_NOT_FOUND = 5;

function grpcCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? Number((error as { code: unknown }).code) : undefined;
}

/** A new namespace reaches every service's cache only after a refresh (2 s by default): retry. */
async function retryUntil(deadline: number, attempt: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
