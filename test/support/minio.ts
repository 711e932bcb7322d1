import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/index.js';
import { startMinio, type RunningMinio } from '../../src/dev/minio.js';

export type { RunningMinio };

/**
 * A MinIO server of the test file's own (a temporary data folder, a free port, fresh credentials),
 * built once per machine into the per-user cache like the Temporal CLI. Stop it in afterAll.
 */
export async function startTestMinio(bucket = 'clerk-test'): Promise<RunningMinio> {
  return startMinio({ bucket, config: loadConfig(process.env) });
}

/**
 * The environment that points clerk at the MinIO server, under a prefix of its own so tests sharing
 * one server stay apart (the same settings an operator sets: docs/OPERATIONS.md, Storage).
 */
export function s3StorageEnv(minio: RunningMinio, prefix = `test-${randomBytes(3).toString('hex')}`): Record<string, string> {
  return {
    CLERK_STORAGE_URL: `s3://${minio.bucket}/${prefix}`,
    CLERK_S3_ENDPOINT: minio.endpoint,
    CLERK_S3_ACCESS_KEY_ID: minio.accessKeyId,
    CLERK_S3_SECRET_ACCESS_KEY: minio.secretAccessKey,
  };
}
