import { FetchError } from './types.js';

export interface HttpGetOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Redirects may only stay on this host: a site must not point clerk at someone else's server. */
  allowedHost: string;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;

/** GETs a URL into memory, enforcing a size cap, a timeout and same-host redirects. */
export async function httpGet(url: string, options: HttpGetOptions): Promise<Buffer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let current = parseHttpUrl(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (current.host !== options.allowedHost) {
      throw new FetchError(`${url} leads to another host (${current.host}); only ${options.allowedHost} is allowed`, true);
    }
    let response: Response;
    try {
      response = await fetch(current, { redirect: 'manual', signal });
    } catch (error) {
      throw new FetchError(`could not reach ${current.href}: ${describeNetworkError(error)}`, false);
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (!location) throw new FetchError(`${current.href} redirected without a Location header`, true);
      current = parseHttpUrl(new URL(location, current).href);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      const permanent = response.status >= 400 && response.status < 500 && response.status !== 429 && response.status !== 408;
      throw new FetchError(`${current.href} answered HTTP ${response.status}`, permanent);
    }
    return readCapped(response, current.href, options.maxBytes);
  }
  throw new FetchError(`${url} redirected more than ${MAX_REDIRECTS} times`, true);
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchError(`"${url}" is not a URL`, true);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FetchError(`"${url}" is not an http(s) URL`, true);
  }
  return parsed;
}

async function readCapped(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError(`${url} is ${declared} bytes, over the ${maxBytes}-byte limit`, true);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        await response.body.cancel().catch(() => {});
        throw new FetchError(`${url} is over the ${maxBytes}-byte limit`, true);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(`download of ${url} broke off: ${describeNetworkError(error)}`, false);
  }
  return Buffer.concat(chunks);
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
