import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import type { ArchiveVariant } from '../archive/layout.js';
import type { DeployConfig } from '../config/index.js';
import type { DeploymentManifest } from './layout.js';

/**
 * The remote target: what clerk tells the world after each publish and each rollback, so a CDN,
 * an object store or a search front end can pick the new version up. Either (or both) of
 * - a shell command from the operator's configuration, given the event in CLERK_DEPLOY_* variables
 *   and the JSON body on stdin, and
 * - a webhook: the JSON body POSTed to a URL, signed with HMAC-SHA256 when a secret is configured.
 * Each is tried `attempts` times with exponential backoff and jitter; when the last attempt fails,
 * runDeployHook throws a DeployHookError naming the target and its last error.
 */
export interface DeployHookConfig {
  command?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  /** Public base URL of the deploy folder: the body then carries `url` of the version's meetings.db. */
  publicUrl?: string;
  /** Per attempt. */
  timeoutMs: number;
  attempts: number;
  /** First retry delay; each next one doubles, plus up to as much again of jitter. */
  retryBaseMs?: number;
}

export type DeployEvent = 'publish' | 'rollback';

/** The JSON body a target receives (on stdin for a command, as the POST body for a webhook). */
export interface DeployEventBody {
  event: DeployEvent;
  site: string;
  version: number;
  variant: ArchiveVariant;
  sha256: string;
  /** The version's meetings.db on the deploy host. */
  path: string;
  url?: string;
  pages: number;
  entities: number;
  votes: number;
  publishedAt: string;
}

export type HookOutcome = { status: 'none' } | { status: 'ok'; targets: string[] };

export class DeployHookError extends Error {
  override name = 'DeployHookError';
  constructor(
    /** The target that failed, as shown to people: `command "<cmd>"` or `webhook <origin/path>`. */
    readonly target: string,
    readonly attempts: number,
    readonly lastError: string,
  ) {
    super(`deploy hook ${target} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastError}`);
  }
}

export const DEFAULT_RETRY_BASE_MS = 2_000;
const STDERR_TAIL_BYTES = 2_000;

/** The hook settings of a clerk configuration; `retryBaseMs` is for tests, which cannot wait seconds. */
export function hookConfigFor(deploy: DeployConfig, retryBaseMs?: number): DeployHookConfig {
  return {
    command: deploy.command,
    webhookUrl: deploy.webhookUrl,
    webhookSecret: deploy.webhookSecret,
    publicUrl: deploy.publicUrl,
    timeoutMs: deploy.hookTimeoutMs,
    attempts: deploy.hookAttempts,
    ...(retryBaseMs !== undefined ? { retryBaseMs } : {}),
  };
}

export function hookConfigured(config: DeployHookConfig): boolean {
  return Boolean(config.command || config.webhookUrl);
}

/** The body for a version: from its manifest, with the public URL when one is configured. */
export function deployEventBody(event: DeployEvent, manifest: DeploymentManifest, archivePath: string, publicUrl?: string): DeployEventBody {
  return {
    event,
    site: manifest.subdomain,
    version: manifest.version,
    variant: manifest.variant,
    sha256: manifest.sha256,
    path: archivePath,
    ...(publicUrl ? { url: `${publicUrl.replace(/\/+$/, '')}/${manifest.subdomain}/versions/${manifest.version}/meetings.db` } : {}),
    pages: manifest.pages,
    entities: manifest.entities,
    votes: manifest.votes,
    publishedAt: manifest.publishedAt,
  };
}

/** Runs every configured target in turn (command first); the first that exhausts its attempts throws. */
export async function runDeployHook(config: DeployHookConfig, body: DeployEventBody): Promise<HookOutcome> {
  const targets: { name: string; attempt: () => Promise<void> }[] = [];
  const json = JSON.stringify(body);
  if (config.command) {
    const command = config.command;
    targets.push({ name: `command "${command}"`, attempt: () => runCommand(command, body, json, config.timeoutMs) });
  }
  if (config.webhookUrl) {
    const url = config.webhookUrl;
    targets.push({ name: `webhook ${describeUrl(url)}`, attempt: () => postWebhook(url, json, body.event, config.webhookSecret, config.timeoutMs) });
  }
  if (targets.length === 0) return { status: 'none' };
  for (const target of targets) await withRetries(target.name, config.attempts, config.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, target.attempt);
  return { status: 'ok', targets: targets.map((t) => t.name) };
}

/** `X-Clerk-Signature` for a body: receivers recompute it over the raw bytes with the shared secret. */
export function signatureOf(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function withRetries(target: string, attempts: number, baseMs: number, attempt: () => Promise<void>): Promise<void> {
  let lastError = '';
  for (let n = 1; n <= attempts; n++) {
    try {
      await attempt();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (n < attempts) {
      const backoff = baseMs * 2 ** (n - 1);
      // Jitter keeps many sites' deploys from retrying against a recovering target in lockstep.
      await new Promise((resolve) => setTimeout(resolve, backoff + Math.random() * backoff));
    }
  }
  throw new DeployHookError(target, attempts, lastError);
}

/**
 * The command runs under /bin/sh, in its own process group so a timeout kills whatever it started
 * too. It is operator configuration, never user input; the event's values reach it only as
 * environment variables and stdin, never spliced into the command line.
 */
function runCommand(command: string, body: DeployEventBody, json: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      detached: true,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        CLERK_DEPLOY_EVENT: body.event,
        CLERK_DEPLOY_SITE: body.site,
        CLERK_DEPLOY_VERSION: String(body.version),
        CLERK_DEPLOY_VARIANT: body.variant,
        CLERK_DEPLOY_SHA256: body.sha256,
        CLERK_DEPLOY_PATH: body.path,
        ...(body.url ? { CLERK_DEPLOY_URL: body.url } : {}),
      },
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    // A command that ignores stdin closes it early: that is its business, not a failure.
    child.stdin.on('error', () => {});
    child.stdin.end(json);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderr.trim() ? `: ${stderr.trim()}` : '';
      if (timedOut) reject(new Error(`timed out after ${duration(timeoutMs)}${tail}`));
      else if (code === 0) resolve();
      else reject(new Error(`${code === null ? `killed by ${signal}` : `exited with code ${code}`}${tail}`));
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function postWebhook(url: string, json: string, event: DeployEvent, secret: string | undefined, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'clerk-deploy',
        'x-clerk-event': event,
        ...(secret ? { 'x-clerk-signature': signatureOf(json, secret) } : {}),
      },
      body: json,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string; code?: string } }).cause;
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${duration(timeoutMs)}` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Error(reason);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`answered HTTP ${response.status}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}`);
}

function duration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** A webhook URL without credentials or query string: those may hold tokens and end up in logs. */
function describeUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
