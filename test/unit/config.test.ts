import { describe, expect, it } from 'vitest';
import { ConfigError, effectiveDatabaseUrl, loadConfig } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('defaults to the embedded stack under a project-local .clerk folder', () => {
    const config = loadConfig({}, '/srv/clerk');
    expect(config.dataDir).toBe('/srv/clerk/.clerk');
    expect(config.storageDir).toBe('/srv/clerk/.clerk/storage');
    expect(config.databaseUrl).toBeUndefined();
    expect(effectiveDatabaseUrl(config)).toBe('postgres://postgres:postgres@127.0.0.1:54329/clerk');
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', uiPort: 8233, taskQueuePrefix: '' });
    expect(config.temporal.dbFilename).toBe('/srv/clerk/.clerk/temporal/dev.sqlite');
    expect(config.ocr.engine).toBe('auto');
  });

  it('takes DATABASE_URL and Temporal settings from the environment', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/clerk', TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'prod', CLERK_OCR_CONCURRENCY: '8' }, '/x');
    expect(effectiveDatabaseUrl(config)).toBe('postgres://u@db:5432/clerk');
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.temporal.namespace).toBe('prod');
    expect(config.ocr.concurrency).toBe(8);
  });

  it('keeps 5 deploy versions and tells no remote target unless configured', () => {
    expect(loadConfig({}, '/srv/clerk').deploy).toEqual({
      keep: 5,
      command: undefined,
      webhookUrl: undefined,
      webhookSecret: undefined,
      publicUrl: undefined,
      hookTimeoutMs: 300_000,
      hookAttempts: 4,
    });
  });

  it('reads the deploy target and its limits from the environment', () => {
    const config = loadConfig(
      {
        CLERK_DEPLOY_KEEP: '2',
        CLERK_DEPLOY_COMMAND: 'rclone copy "$CLERK_DEPLOY_PATH" remote:archives/$CLERK_DEPLOY_SITE/',
        CLERK_DEPLOY_WEBHOOK_URL: 'https://hooks.example.org/clerk',
        CLERK_DEPLOY_WEBHOOK_SECRET: 'shared',
        CLERK_DEPLOY_PUBLIC_URL: 'https://archives.example.org/clerk/',
        CLERK_DEPLOY_HOOK_TIMEOUT_SECONDS: '60',
        CLERK_DEPLOY_HOOK_ATTEMPTS: '1',
      },
      '/x',
    );
    expect(config.deploy).toEqual({
      keep: 2,
      command: 'rclone copy "$CLERK_DEPLOY_PATH" remote:archives/$CLERK_DEPLOY_SITE/',
      webhookUrl: 'https://hooks.example.org/clerk',
      webhookSecret: 'shared',
      publicUrl: 'https://archives.example.org/clerk',
      hookTimeoutMs: 60_000,
      hookAttempts: 1,
    });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must use postgres://'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL must be a URL'],
    [{ CLERK_OCR_ENGINE: 'abbyy' }, 'CLERK_OCR_ENGINE must be one of auto, tesseract, tesseract.js'],
    [{ CLERK_OCR_DPI: '12' }, 'CLERK_OCR_DPI must be a whole number from 50 to 600'],
    [{ TEMPORAL_UI_PORT: 'eighty' }, 'TEMPORAL_UI_PORT must be a whole number'],
    [{ CLERK_DEPLOY_KEEP: '0' }, 'CLERK_DEPLOY_KEEP must be a whole number from 1 to 1000, got "0"'],
    [{ CLERK_DEPLOY_HOOK_ATTEMPTS: 'many' }, 'CLERK_DEPLOY_HOOK_ATTEMPTS must be a whole number from 1 to 20'],
    [{ CLERK_DEPLOY_HOOK_TIMEOUT_SECONDS: '0' }, 'CLERK_DEPLOY_HOOK_TIMEOUT_SECONDS must be a whole number from 1 to 86400'],
    [{ CLERK_DEPLOY_WEBHOOK_URL: 'ftp://hooks.example.org/clerk' }, 'CLERK_DEPLOY_WEBHOOK_URL must be an http(s) URL'],
    [{ CLERK_DEPLOY_PUBLIC_URL: 'archives.example.org' }, 'CLERK_DEPLOY_PUBLIC_URL must be an http(s) URL'],
    [{ CLERK_DEPLOY_WEBHOOK_SECRET: 'x' }, 'CLERK_DEPLOY_WEBHOOK_SECRET is set but CLERK_DEPLOY_WEBHOOK_URL is not'],
  ])('rejects %j with a clear error', (env, message) => {
    expect(() => loadConfig(env, '/x')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/x')).toThrow(message);
  });
});

describe('loadConfig: document storage', () => {
  it('keeps documents in the local folder, with a 10 GB cache under the data folder, by default', () => {
    const config = loadConfig({}, '/srv/clerk');
    expect(config.storageDir).toBe('/srv/clerk/.clerk/storage');
    expect(config.storage).toEqual({ s3: undefined, cacheDir: '/srv/clerk/.clerk/cache', cacheMaxBytes: 10 * 1024 ** 3 });
  });

  it('takes a plain path in CLERK_STORAGE_URL as the local folder', () => {
    expect(loadConfig({ CLERK_STORAGE_URL: 'docs' }, '/srv/clerk').storageDir).toBe('/srv/clerk/docs');
    expect(loadConfig({ CLERK_STORAGE_URL: 'file:///var/clerk' }, '/srv/clerk').storage.s3).toBeUndefined();
    expect(loadConfig({ CLERK_STORAGE_URL: 'file:///var/clerk' }, '/srv/clerk').storageDir).toBe('/var/clerk');
  });

  it('reads an S3-compatible store: bucket, prefix, endpoint, path style and credentials', () => {
    const config = loadConfig(
      {
        CLERK_STORAGE_URL: 's3://clerk-docs/prod/v1/',
        CLERK_S3_ENDPOINT: 'http://127.0.0.1:9000',
        CLERK_S3_ACCESS_KEY_ID: 'key',
        CLERK_S3_SECRET_ACCESS_KEY: 'secret',
        CLERK_CACHE_DIR: '/tmp/clerk-cache',
        CLERK_CACHE_MAX_GB: '0.5',
      },
      '/srv/clerk',
    );
    expect(config.storage).toEqual({
      s3: {
        bucket: 'clerk-docs',
        prefix: 'prod/v1',
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
      },
      cacheDir: '/tmp/clerk-cache',
      cacheMaxBytes: 512 * 1024 ** 2,
    });
  });

  it('uses virtual-hosted AWS addressing and the SDK credential chain when no endpoint or keys are given', () => {
    const { s3 } = loadConfig({ CLERK_STORAGE_URL: 's3://clerk-docs', CLERK_S3_REGION: 'eu-west-1' }, '/x').storage;
    expect(s3).toEqual({ bucket: 'clerk-docs', prefix: '', endpoint: undefined, region: 'eu-west-1', forcePathStyle: false, credentials: undefined });
    expect(loadConfig({ CLERK_STORAGE_URL: 's3://clerk-docs', CLERK_S3_ENDPOINT: 'https://s3.example', CLERK_S3_FORCE_PATH_STYLE: 'false' }, '/x').storage.s3?.forcePathStyle).toBe(false);
  });

  it.each([
    ['s3://', /valid bucket name/],
    ['s3:///prefix', /valid bucket name/],
    ['s3://Upper_Case/x', /valid bucket name/],
    ['s3://bucket/a/../b', /plain path/],
    ['s3://bucket/a//b', /plain path/],
    ['gs://bucket/x', /s3:\/\/bucket\/prefix or a local folder/],
    ['https://bucket.s3.amazonaws.com/x', /s3:\/\/bucket\/prefix or a local folder/],
  ])('rejects CLERK_STORAGE_URL=%s with a clear error', (url, message) => {
    expect(() => loadConfig({ CLERK_STORAGE_URL: url }, '/x')).toThrow(ConfigError);
    expect(() => loadConfig({ CLERK_STORAGE_URL: url }, '/x')).toThrow(message);
  });

  it('rejects half-given credentials, a bad endpoint, path style or cache size, and two different local folders', () => {
    const s3 = { CLERK_STORAGE_URL: 's3://bucket' };
    expect(() => loadConfig({ ...s3, CLERK_S3_ACCESS_KEY_ID: 'key' }, '/x')).toThrow(/CLERK_S3_SECRET_ACCESS_KEY/);
    expect(() => loadConfig({ ...s3, CLERK_S3_ENDPOINT: '127.0.0.1:9000' }, '/x')).toThrow(/CLERK_S3_ENDPOINT/);
    expect(() => loadConfig({ ...s3, CLERK_S3_FORCE_PATH_STYLE: 'maybe' }, '/x')).toThrow(/CLERK_S3_FORCE_PATH_STYLE/);
    expect(() => loadConfig({ CLERK_CACHE_MAX_GB: '-1' }, '/x')).toThrow(/CLERK_CACHE_MAX_GB/);
    expect(() => loadConfig({ CLERK_STORAGE_DIR: '/a', CLERK_STORAGE_URL: '/b' }, '/x')).toThrow(/different folders/);
  });
});
