import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FetchError, ListingFormatError } from './types.js';

/** How a site's HTTP client behaves: where it may go, how long it waits, how politely it asks. */
export interface HttpPolicy {
  /**
   * Hosts requests and redirects may reach: `host` (any port), `host:port` (that port only) or
   * `*.domain` (any subdomain). A redirect anywhere else is refused.
   */
  allowedHosts: readonly string[];
  /** One attempt at a listing page, headers and body. */
  listingTimeoutMs: number;
  /** One attempt at a document download, headers and body. */
  downloadTimeoutMs: number;
  /** Tries per request when the server or network fails transiently (5xx, 429, 408, resets). */
  maxAttempts: number;
  /** First retry delay; doubled each try, with ±50% jitter. */
  retryBaseMs: number;
  /** A Retry-After or backoff longer than this gives up instead of holding a worker. */
  maxRetryDelayMs: number;
  /** Requests to one host at once. */
  perHostConcurrency: number;
  /** Least time between the starts of two requests to one host. */
  perHostDelayMs: number;
  userAgent: string;
}

export const defaultHttpPolicy: Omit<HttpPolicy, 'allowedHosts'> = {
  listingTimeoutMs: 60_000,
  downloadTimeoutMs: 600_000,
  maxAttempts: 4,
  retryBaseMs: 1_000,
  maxRetryDelayMs: 120_000,
  perHostConcurrency: 2,
  perHostDelayMs: 250,
  userAgent: 'clerk (+https://github.com/clerk-civic/clerk; meeting archive fetcher)',
};

export interface RequestOptions {
  /** Largest body accepted; reading stops (and the request fails) past it. */
  maxBytes?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface TextResponse {
  text: string;
  /** Where the last redirect led. */
  url: string;
  contentType: string;
}

export interface DownloadRequest extends RequestOptions {
  /** The local file to write; it appears whole or not at all. */
  destination: string;
  maxBytes: number;
  /** Validators from the last download: a 304 answer means "unchanged" and downloads nothing. */
  etag?: string | null;
  lastModified?: string | null;
}

export type DownloadResult =
  | { status: 'not-modified' }
  | {
      status: 'downloaded';
      bytes: number;
      sha256: string;
      url: string;
      contentType: string;
      etag: string | null;
      lastModified: string | null;
    };

const MAX_REDIRECTS = 5;
const LISTING_MAX_BYTES = 20 * 1024 * 1024;
/** The PDF header may follow up to 1 KiB of junk (PDF 1.7, annex H); readers accept that. */
const PDF_MAGIC_WINDOW = 1024;

/**
 * The only way fetchers and the fetch activity reach the network. It allows http(s) to listed
 * hosts only (each redirect hop is checked), retries transient failures with backoff and jitter
 * (honouring Retry-After), limits requests per host, and streams downloads to a file with a size
 * cap and a PDF check, never holding a document in memory.
 */
export class HttpClient {
  private readonly hosts = new Map<string, HostSlot>();
  readonly policy: HttpPolicy;

  constructor(policy: Partial<HttpPolicy> & Pick<HttpPolicy, 'allowedHosts'>) {
    this.policy = { ...defaultHttpPolicy, ...policy };
    if (this.policy.allowedHosts.length === 0) throw new Error('an HTTP client needs at least one allowed host');
  }

  /** GETs a listing page as text (HTML, JSON, XML). */
  async getText(url: string, options: RequestOptions = {}): Promise<TextResponse> {
    const response = await this.getBytes(url, options);
    return { text: response.body.toString('utf8'), url: response.url, contentType: response.contentType };
  }

  /** GETs a small body into memory (a listing page), capped at `maxBytes` while it streams. */
  async getBytes(url: string, options: RequestOptions = {}): Promise<{ body: Buffer; url: string; contentType: string }> {
    return this.withRetries(options.signal, async (signal) => {
      const response = await this.open(url, { ...options, signal }, this.policy.listingTimeoutMs);
      const contentType = response.response.headers.get('content-type') ?? '';
      const body = await readCapped(response.response, response.url, options.maxBytes ?? LISTING_MAX_BYTES);
      return { body, url: response.url, contentType };
    });
  }

  /** GETs a JSON listing; a body that is not JSON fails as a listing format error naming the URL. */
  async getJson(url: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.getText(url, { ...options, headers: { Accept: 'application/json', ...options.headers } });
    try {
      return JSON.parse(response.text) as unknown;
    } catch (error) {
      throw new ListingFormatError(`${response.url} did not answer JSON (${(error as Error).message})`);
    }
  }

  /**
   * Whether the document is unchanged since the download the validators came from: the conditional
   * request `download` makes, whose answer is only looked at. A 304 is true; any other answer is
   * false, and its body is never read (`download` fetches it, when it is wanted).
   */
  async isNotModified(url: string, request: RequestOptions & { etag?: string | null; lastModified?: string | null }): Promise<boolean> {
    if (!request.etag && !request.lastModified) return false;
    return this.withRetries(request.signal, async (signal) => {
      const opened = await this.open(url, { ...request, signal, headers: { Accept: 'application/pdf', ...conditionalHeaders(request), ...request.headers } }, this.policy.downloadTimeoutMs, true);
      await opened.response.body?.cancel();
      return opened.response.status === 304;
    });
  }

  /**
   * Streams a PDF to `destination`, hashing it on the way. A body that does not start like a
   * PDF (an HTML error page served with a 200) is refused and nothing is written.
   */
  async download(url: string, request: DownloadRequest): Promise<DownloadResult> {
    return this.withRetries(request.signal, async (signal) => {
      const opened = await this.open(url, { ...request, signal, headers: { Accept: 'application/pdf', ...conditionalHeaders(request), ...request.headers } }, this.policy.downloadTimeoutMs, true);
      if (opened.response.status === 304) {
        await opened.response.body?.cancel();
        return { status: 'not-modified' as const };
      }
      const contentType = opened.response.headers.get('content-type') ?? '';
      const written = await streamPdfToFile(opened.response, opened.url, contentType, request.destination, request.maxBytes);
      return {
        status: 'downloaded' as const,
        ...written,
        url: opened.url,
        contentType,
        etag: opened.response.headers.get('etag'),
        lastModified: opened.response.headers.get('last-modified'),
      };
    });
  }

  /** True when a request to this URL's host is allowed. */
  allows(url: URL): boolean {
    return this.policy.allowedHosts.some((entry) => hostMatches(entry, url));
  }

  private async withRetries<T>(outer: AbortSignal | undefined, attempt: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    try {
      return await this.retrying(outer, attempt);
    } catch (error) {
      // Errors are stored and logged: an API token in a quoted URL must not go with them.
      if (error instanceof FetchError) error.message = redactSecrets(error.message);
      throw error;
    }
  }

  private async retrying<T>(outer: AbortSignal | undefined, attempt: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt(outer);
      } catch (error) {
        if (outer?.aborted) throw outer.reason ?? error;
        if (!(error instanceof FetchError) || error.permanent || tries >= this.policy.maxAttempts) throw error;
        const retryAfter = error instanceof RetryableHttpError ? error.retryAfterMs : undefined;
        const backoff = this.policy.retryBaseMs * 2 ** (tries - 1) * (0.5 + Math.random());
        const delay = retryAfter ?? backoff;
        if (delay > this.policy.maxRetryDelayMs) {
          throw new FetchError(`${error.message}; the next try would wait ${Math.round(delay / 1000)} s, longer than clerk waits`, false, error.reason);
        }
        await sleep(delay, undefined, outer ? { signal: outer } : undefined);
      }
    }
  }

  /** One attempt: follows redirects by hand so every hop's host is checked. */
  private async open(url: string, options: RequestOptions, timeoutMs: number, acceptNotModified = false): Promise<{ response: Response; url: string }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let current = parseHttpUrl(url);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (!this.allows(current)) {
        const allowed = this.policy.allowedHosts;
        const what = hop === 0 ? current.href : `${url} (redirected to ${current.href})`;
        throw new FetchError(`${what} leads to another host (${current.host}); only ${allowed.join(', ')} ${allowed.length === 1 ? 'is' : 'are'} allowed`, true, 'host-not-allowed');
      }
      const response = await this.politely(current, async () => {
        try {
          return await fetch(current, { redirect: 'manual', signal, headers: { 'User-Agent': this.policy.userAgent, ...options.headers } });
        } catch (error) {
          if (options.signal?.aborted) throw options.signal.reason ?? error;
          if (timeout.aborted) throw new FetchError(`${current.href} did not answer within ${Math.round(timeoutMs / 1000)} s`, false, 'timeout');
          throw new FetchError(`could not reach ${current.href}: ${describeNetworkError(error)}`, false, 'network-error');
        }
      });
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        if (!location) throw new FetchError(`${current.href} redirected without a Location header`, true, 'http-error');
        current = parseHttpUrl(new URL(location, current).href);
        continue;
      }
      if (response.status === 304 && acceptNotModified) return { response, url: current.href };
      if (!response.ok) {
        await response.body?.cancel();
        throw httpStatusError(response, current.href);
      }
      return { response, url: current.href };
    }
    throw new FetchError(`${url} redirected more than ${MAX_REDIRECTS} times`, true, 'too-many-redirects');
  }

  /** Waits for a slot on the URL's host and for the polite delay since the host's last request. */
  private async politely<T>(url: URL, work: () => Promise<T>): Promise<T> {
    let slot = this.hosts.get(url.host);
    if (!slot) {
      slot = { active: 0, waiting: [], nextStart: 0 };
      this.hosts.set(url.host, slot);
    }
    if (slot.active >= this.policy.perHostConcurrency) {
      await new Promise<void>((resolve) => slot.waiting.push(resolve));
    } else {
      slot.active++;
    }
    try {
      const wait = slot.nextStart - Date.now();
      slot.nextStart = Math.max(slot.nextStart, Date.now()) + this.policy.perHostDelayMs;
      if (wait > 0) await sleep(wait);
      return await work();
    } finally {
      const next = slot.waiting.shift();
      if (next) next();
      else slot.active--;
    }
  }
}

interface HostSlot {
  active: number;
  waiting: (() => void)[];
  nextStart: number;
}

class RetryableHttpError extends FetchError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, false, 'http-error');
  }
}

function httpStatusError(response: Response, url: string): FetchError {
  const status = response.status;
  if (status === 404 || status === 410) return new FetchError(`${url} answered HTTP ${status} (not found)`, true, 'not-found');
  if (status === 429 || status === 408 || status >= 500) {
    return new RetryableHttpError(`${url} answered HTTP ${status}`, parseRetryAfter(response.headers.get('retry-after')));
  }
  return new FetchError(`${url} answered HTTP ${status}`, true, 'http-error');
}

const SECRET_PARAMETERS = /([?&](?:token|api_?key|key|access_token|signature|sig|password)=)[^&#\s"')]+/gi;

/** Hides the values of query parameters that carry credentials (Legistar's `token`, signed links). */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAMETERS, '$1***');
}

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function hostMatches(entry: string, url: URL): boolean {
  const wanted = entry.trim().toLowerCase();
  if (wanted.startsWith('*.')) {
    const domain = wanted.slice(2);
    return (url.hostname === domain || url.hostname.endsWith(`.${domain}`)) && url.port === '';
  }
  // An entry with a port names that port only; without one, the scheme's default port only, so a
  // site on https://city.example cannot be sent to city.example:8080.
  const hasPort = /^(\[[^\]]+\]|[^:]+):\d+$/.test(wanted);
  return hasPort ? url.host === wanted : url.hostname === wanted && url.port === '';
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchError(`"${url}" is not a URL`, true, 'bad-url');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FetchError(`"${url}" is not an http(s) URL`, true, 'bad-url');
  }
  return parsed;
}

/** The headers that ask for a document only if it changed since the download the validators came from. */
function conditionalHeaders(validators: { etag?: string | null; lastModified?: string | null }): Record<string, string> {
  return {
    ...(validators.etag ? { 'If-None-Match': validators.etag } : {}),
    ...(validators.lastModified ? { 'If-Modified-Since': validators.lastModified } : {}),
  };
}

async function readCapped(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError(`${url} is ${declared} bytes, over the ${maxBytes}-byte limit`, true, 'too-large');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        await response.body.cancel().catch(() => {});
        throw new FetchError(`${url} is over the ${maxBytes}-byte limit`, true, 'too-large');
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw bodyError(error, url);
  }
  return Buffer.concat(chunks);
}

async function streamPdfToFile(response: Response, url: string, contentType: string, destination: string, maxBytes: number): Promise<{ bytes: number; sha256: string }> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError(`${url} is ${declared} bytes, over the ${maxBytes}-byte limit`, true, 'too-large');
  }
  await fs.promises.mkdir(path.dirname(destination), { recursive: true });
  const partial = `${destination}.${randomUUID()}.part`;
  const file = fs.createWriteStream(partial);
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  let checked = false;
  const checkHead = () => {
    checked = true;
    if (bytes === 0) throw new FetchError(`${url} is empty (0 bytes), where a PDF was expected; nothing was stored`, true, 'empty');
    if (head.subarray(0, PDF_MAGIC_WINDOW).includes('%PDF-')) return;
    const what = /html/i.test(contentType) || /^\s*<(!doctype|html)/i.test(head.toString('latin1', 0, 64)) ? 'an HTML page' : `not a PDF (${contentType || 'no content type'})`;
    throw new FetchError(`${url} is ${what}, where a PDF was expected; nothing was stored`, true, 'not-pdf');
  };
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) {
          await response.body.cancel().catch(() => {});
          throw new FetchError(`${url} is over the ${maxBytes}-byte limit`, true, 'too-large');
        }
        if (!checked) {
          head = Buffer.concat([head, chunk]);
          if (head.byteLength >= PDF_MAGIC_WINDOW) checkHead();
        }
        hash.update(chunk);
        if (!file.write(chunk)) await once(file, 'drain');
      }
    }
    if (!checked) checkHead();
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await fs.promises.rename(partial, destination);
    return { bytes, sha256: hash.digest('hex') };
  } catch (error) {
    file.destroy();
    await fs.promises.rm(partial, { force: true });
    throw bodyError(error, url);
  }
}

function bodyError(error: unknown, url: string): unknown {
  if (error instanceof FetchError) return error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new FetchError(`download of ${url} timed out or was stopped`, false, 'timeout');
  }
  return new FetchError(`download of ${url} broke off: ${describeNetworkError(error)}`, false, 'network-error');
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
