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
