import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type ClerkConfig } from '../config/index.js';
import { freePort } from './probes.js';

/**
 * The MinIO server clerk's tests and dev stack use as an S3-compatible store. The Go module proxy
 * serves MinIO only as pseudo-versions; this is what `go list -m github.com/minio/minio@latest`
 * resolved to when it was pinned. Pinned so every clone builds (and caches) the same binary.
 */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** Where bin/setup.mjs --with-minio and findOrBuildMinio put the binary: shared by every clone for this user. */
export function minioBuildPath(config: ClerkConfig): string {
  return path.join(config.temporal.cliBuildCacheDir, `minio-${MINIO_VERSION}`, 'minio');
}

/**
 * The MinIO binary: MINIO_BINARY, then the per-user build cache, then `minio` on PATH; otherwise
 * builds it with `go install` into the cache (about 4 minutes cold, once per machine).
 */
export async function findOrBuildMinio(config: ClerkConfig): Promise<string> {
  const explicit = process.env.MINIO_BINARY?.trim();
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`MINIO_BINARY is set to ${explicit}, which does not exist`);
    return explicit;
  }
  const cached = minioBuildPath(config);
  if (fs.existsSync(cached)) return cached;
  const onPath = spawnSync('sh', ['-c', 'command -v minio'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (go.status !== 0) {
    throw new Error('No MinIO server binary found and no Go toolchain to build one: install Go, run `node bin/setup.mjs --with-minio`, or set MINIO_BINARY');
  }
  const folder = path.dirname(cached);
  fs.mkdirSync(folder, { recursive: true });
  // Built into a scratch folder and renamed, so a concurrent caller never runs a half-written binary.
  const scratch = fs.mkdtempSync(path.join(folder, '.build-'));
  try {
    execFileSync('go', ['install', `github.com/minio/minio@${MINIO_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, GOBIN: scratch } });
    fs.renameSync(path.join(scratch, 'minio'), cached);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return cached;
}

export interface MinioOptions {
  /** Address to listen on; a bridge address when other network namespaces must reach it. Default 127.0.0.1. */
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** Where objects live; unset: a temporary folder removed on stop. */
  dataDir?: string;
  /** Created when missing. Default `clerk`. */
  bucket?: string;
  /** Defaults to loadConfig() of this process's environment (for the build cache location). */
  config?: ClerkConfig;
}

export interface RunningMinio {
  /** http://host:port */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  stop(): Promise<void>;
}

/** Starts a MinIO server with fresh root credentials, waits until it is ready and creates the bucket. */
export async function startMinio(options: MinioOptions = {}): Promise<RunningMinio> {
  const config = options.config ?? loadConfig();
  const binary = await findOrBuildMinio(config);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ? options.port : await freePort(host);
  const consolePort = await freePort(host);
  const temporaryDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-minio-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const accessKeyId = `clerk-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('base64url');
  const bucket = options.bucket ?? 'clerk';
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const child = spawn(binary, ['server', dataDir, '--address', `${host}:${port}`, '--console-address', `${host}:${consolePort}`, '--quiet'], {
    env: { ...process.env, MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The last output, to explain a server that exits instead of becoming ready.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGTERM');
      // MinIO takes over a second to exit on SIGTERM; do not wait forever for it.
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    if (temporaryDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(endpoint, () => hasExited, () => output);
    await createBucket({ endpoint, accessKeyId, secretAccessKey, bucket });
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, accessKeyId, secretAccessKey, bucket, stop };
}

async function waitUntilReady(endpoint: string, hasExited: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hasExited()) throw new Error(`MinIO exited before it was ready:\n${output()}`);
    const ready = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`MinIO at ${endpoint} was not ready within 60 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function createBucket(target: { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string }): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: target.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: target.bucket }));
  } catch (error) {
    // A data folder reused across runs keeps its buckets.
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}

