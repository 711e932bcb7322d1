import os from 'node:os';
import path from 'node:path';

/**
 * The one place that reads the environment. Everything else receives a ClerkConfig,
 * so tests and tools can build one without touching process.env.
 */
export interface ClerkConfig {
  /** Project-local folder for everything clerk keeps on disk (git-ignored). */
  dataDir: string;
  /** Where fetched PDFs and page texts live (the local DocumentStore's root). */
  storageDir: string;
  /** The DocumentStore's location: the local folder above, or an S3-compatible bucket (docs/OPERATIONS.md, Storage). */
  storage: StorageConfig;
  /** Where deploy publishes each site's versions (`<site>/versions/<n>/meetings.db`, docs/DEPLOY.md). */
  deployDir: string;
  deploy: DeployConfig;
  /** Unset means: start the embedded Postgres under dataDir. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  temporal: {
    address: string;
    namespace: string;
    uiPort: number;
    /** Explicit path to a `temporal` CLI binary; otherwise PATH, then the build cache. */
    cliPath: string | undefined;
    /** The per-user folder bin/setup.mjs builds the CLI into ($XDG_CACHE_HOME/clerk). */
    cliBuildCacheDir: string;
    /** The dev server's SQLite file, so runs survive restarts. */
    dbFilename: string;
    /** Prefix for every task queue name, to keep test runs apart on one server. */
    taskQueuePrefix: string;
  };
  ocr: {
    engine: OcrEngineChoice;
    /** Resolution for pages that are not scans (or are scans under 100 ppi); a scan is OCRed at its own. */
    dpi: number;
    /** The highest resolution a scan is OCRed at: finer scans are rendered down to it. */
    maxScanDpi: number;
    concurrency: number;
    renderer: RendererChoice;
    /** Largest image a page is rendered to; bigger pages render at a lower dpi (render-budget.ts). */
    maxRenderPixels: number;
  };
  /** Worker threads an extraction worker runs entity extraction on. */
  extractionThreads: number;
  /** Upper bound of a single downloaded document. */
  maxDownloadBytes: number;
  /** Fetcher plugins to load besides the built-in ones: files, folders or npm package names. */
  fetcherPlugins: string[];
  /** Port of the local HTTP server the dev stack uses to serve the sample site. */
  sampleSitePort: number;
  /** This worker host's name in job_tracking (which host ran each attempt); several workers on one machine may each claim their own. */
  host: string;
}

/** Versioned deploys and the remote target told after each publish and rollback (docs/DEPLOY.md). */
export interface DeployConfig {
  /** Published versions kept per site; the current one is always kept besides. */
  keep: number;
  /** A shell command run after each publish and rollback (operator configuration). */
  command: string | undefined;
  /** A URL POSTed the event as JSON after each publish and rollback. */
  webhookUrl: string | undefined;
  /** Signs the webhook body: `X-Clerk-Signature: sha256=<hmac>`. */
  webhookSecret: string | undefined;
  /** Public base URL the deploy folder is served at, without a trailing slash; adds `url` to the event. */
  publicUrl: string | undefined;
  /** How long one attempt of the command or webhook may take. */
  hookTimeoutMs: number;
  /** Attempts per target before the deploy fails. */
  hookAttempts: number;
}

/** CLERK_STORAGE_URL and its companions; `s3` unset means the local folder (storageDir). */
export interface StorageConfig {
  s3: S3StorageConfig | undefined;
  /** Local copies of remote objects for tools that read files (pdftoppm, tesseract). */
  cacheDir: string;
  /** The cache evicts least recently used files above this size. */
  cacheMaxBytes: number;
}

export interface S3StorageConfig {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slashes; '' for the bucket's root. */
  prefix: string;
  /** An S3-compatible server (MinIO); unset means AWS. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Unset: the AWS SDK's default chain (AWS_ACCESS_KEY_ID, profiles, instance roles). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export type OcrEngineChoice = 'auto' | 'tesseract' | 'tesseract.js';
export type RendererChoice = 'auto' | 'pdftoppm' | 'pdfjs';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): ClerkConfig {
  const dataDir = path.resolve(cwd, readString(env, 'CLERK_DATA_DIR') ?? '.clerk');
  return {
    dataDir,
    storageDir: readStorageDir(env, cwd, dataDir),
    storage: readStorageConfig(env, cwd, dataDir),
    deployDir: path.resolve(cwd, readString(env, 'CLERK_DEPLOY_DIR') ?? path.join(dataDir, 'deploy')),
    deploy: readDeployConfig(env),
    databaseUrl: readDatabaseUrl(env),
    embeddedPostgresPort: readInt(env, 'CLERK_EMBEDDED_PG_PORT', 54329, { min: 1, max: 65535 }),
    temporal: {
      address: readString(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233',
      namespace: readString(env, 'TEMPORAL_NAMESPACE') ?? 'default',
      uiPort: readInt(env, 'TEMPORAL_UI_PORT', 8233, { min: 1, max: 65535 }),
      cliPath: readString(env, 'TEMPORAL_CLI'),
      cliBuildCacheDir: path.join(readString(env, 'XDG_CACHE_HOME') ?? path.join(os.homedir(), '.cache'), 'clerk'),
      dbFilename: path.resolve(cwd, readString(env, 'TEMPORAL_DB_FILENAME') ?? path.join(dataDir, 'temporal', 'dev.sqlite')),
      taskQueuePrefix: readString(env, 'CLERK_TASK_QUEUE_PREFIX') ?? '',
    },
    ocr: {
      engine: readChoice(env, 'CLERK_OCR_ENGINE', ['auto', 'tesseract', 'tesseract.js'] as const, 'auto'),
      dpi: readInt(env, 'CLERK_OCR_DPI', 300, { min: 50, max: 600 }),
      maxScanDpi: readInt(env, 'CLERK_OCR_MAX_SCAN_DPI', 600, { min: 100, max: 1200 }),
      concurrency: readInt(env, 'CLERK_OCR_CONCURRENCY', os.availableParallelism(), { min: 1, max: 256 }),
      renderer: readChoice(env, 'CLERK_PDF_RENDERER', ['auto', 'pdftoppm', 'pdfjs'] as const, 'auto'),
      maxRenderPixels: readInt(env, 'CLERK_OCR_MAX_MEGAPIXELS', 80, { min: 1, max: 1_000 }) * 1_000_000,
    },
    extractionThreads: readInt(env, 'CLERK_EXTRACTION_THREADS', os.availableParallelism(), { min: 1, max: 64 }),
    maxDownloadBytes: readInt(env, 'CLERK_MAX_DOWNLOAD_MB', 200, { min: 1, max: 10_000 }) * 1024 * 1024,
    fetcherPlugins: readList(env, 'CLERK_FETCHER_PLUGINS').map((entry) => (entry.startsWith('.') ? path.resolve(cwd, entry) : entry)),
    sampleSitePort: readInt(env, 'CLERK_SAMPLE_SITE_PORT', 8780, { min: 1, max: 65535 }),
    host: readString(env, 'CLERK_HOST') ?? os.hostname(),
  };
}

/** DATABASE_URL, or the embedded Postgres the dev stack runs when it is unset. */
export function effectiveDatabaseUrl(config: ClerkConfig): string {
  return config.databaseUrl ?? embeddedDatabaseUrl(config.embeddedPostgresPort);
}

/** The embedded server's fixed credentials: it listens on 127.0.0.1 only. */
export function embeddedDatabaseUrl(port: number, database = 'clerk'): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
}

export function embeddedPostgresDir(config: ClerkConfig): string {
  return path.join(config.dataDir, 'postgres');
}

/** Host and port of the Temporal frontend, split for the dev server's flags. */
export function temporalHostPort(config: ClerkConfig): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(config.temporal.address);
  if (!match) throw new ConfigError(`TEMPORAL_ADDRESS must look like host:port, got "${config.temporal.address}"`);
  return { host: match[1]!, port: Number(match[2]) };
}

function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A comma-separated list; empty entries are dropped. */
function readList(env: Env, name: string): string[] {
  return (readString(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function readInt(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(`${name} must be a whole number from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function readDeployConfig(env: Env): DeployConfig {
  const webhookUrl = readHttpUrl(env, 'CLERK_DEPLOY_WEBHOOK_URL');
  const webhookSecret = readString(env, 'CLERK_DEPLOY_WEBHOOK_SECRET');
  if (webhookSecret && !webhookUrl) throw new ConfigError('CLERK_DEPLOY_WEBHOOK_SECRET is set but CLERK_DEPLOY_WEBHOOK_URL is not: set the URL, or unset the secret');
  return {
    keep: readInt(env, 'CLERK_DEPLOY_KEEP', 5, { min: 1, max: 1_000 }),
    command: readString(env, 'CLERK_DEPLOY_COMMAND'),
    webhookUrl,
    webhookSecret,
    publicUrl: readHttpUrl(env, 'CLERK_DEPLOY_PUBLIC_URL')?.replace(/\/+$/, ''),
    hookTimeoutMs: readInt(env, 'CLERK_DEPLOY_HOOK_TIMEOUT_SECONDS', 300, { min: 1, max: 86_400 }) * 1000,
    hookAttempts: readInt(env, 'CLERK_DEPLOY_HOOK_ATTEMPTS', 4, { min: 1, max: 20 }),
  };
}

function readHttpUrl(env: Env, name: string): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  return raw;
}

/** CLERK_STORAGE_URL as a plain path (or file:// URL) names the local folder too, like CLERK_STORAGE_DIR. */
function readStorageDir(env: Env, cwd: string, dataDir: string): string {
  const dir = readString(env, 'CLERK_STORAGE_DIR');
  const url = readString(env, 'CLERK_STORAGE_URL');
  const urlPath = url === undefined || url.startsWith('s3://') ? undefined : localStoragePath(url);
  if (dir !== undefined && urlPath !== undefined && path.resolve(cwd, dir) !== path.resolve(cwd, urlPath)) {
    throw new ConfigError(`CLERK_STORAGE_DIR (${dir}) and CLERK_STORAGE_URL (${url}) name different folders: set one of them`);
  }
  return path.resolve(cwd, dir ?? urlPath ?? path.join(dataDir, 'storage'));
}

function localStoragePath(url: string): string {
  if (url.startsWith('file://')) return new URL(url).pathname;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new ConfigError(`CLERK_STORAGE_URL must be s3://bucket/prefix or a local folder, got "${url}"`);
  }
  return url;
}

function readStorageConfig(env: Env, cwd: string, dataDir: string): StorageConfig {
  const cacheMaxGb = readNumber(env, 'CLERK_CACHE_MAX_GB', 10, { min: 0.001, max: 1_000_000 });
  return {
    s3: readS3StorageConfig(env),
    cacheDir: path.resolve(cwd, readString(env, 'CLERK_CACHE_DIR') ?? path.join(dataDir, 'cache')),
    cacheMaxBytes: Math.round(cacheMaxGb * 1024 ** 3),
  };
}

function readS3StorageConfig(env: Env): S3StorageConfig | undefined {
  const raw = readString(env, 'CLERK_STORAGE_URL');
  if (raw === undefined || !raw.startsWith('s3://')) return undefined;
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(raw)!;
  const bucket = match[1]!;
  // S3's bucket naming rules, checked here so a typo fails at start-up rather than at the first upload.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ConfigError(`CLERK_STORAGE_URL must be s3://bucket/prefix with a valid bucket name (3-63 lower-case letters, digits, dots and hyphens), got "${raw}"`);
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '.' || part === '..' || (prefix !== '' && part === ''))) {
    throw new ConfigError(`CLERK_STORAGE_URL's prefix must be a plain path like s3://bucket/clerk, got "${raw}"`);
  }
  const endpoint = readHttpUrl(env, 'CLERK_S3_ENDPOINT');
  const accessKeyId = readString(env, 'CLERK_S3_ACCESS_KEY_ID');
  const secretAccessKey = readString(env, 'CLERK_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('Set both CLERK_S3_ACCESS_KEY_ID and CLERK_S3_SECRET_ACCESS_KEY, or neither (then the AWS SDK reads AWS_ACCESS_KEY_ID and friends)');
  }
  return {
    bucket,
    prefix,
    endpoint,
    region: readString(env, 'CLERK_S3_REGION') ?? 'us-east-1',
    // S3-compatible servers (MinIO) usually serve only path-style URLs; AWS prefers virtual-hosted ones.
    forcePathStyle: readBoolean(env, 'CLERK_S3_FORCE_PATH_STYLE', endpoint !== undefined),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  };
}

function readNumber(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new ConfigError(`${name} must be a number from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function readDatabaseUrl(env: Env): string | undefined {
  const raw = readString(env, 'DATABASE_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL must be a URL like postgres://user@host:5432/dbname');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must use postgres://, got "${url.protocol}"`);
  }
  return raw;
}
