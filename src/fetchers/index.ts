import { httpIndexFetcher } from './http-index.js';
import type { Fetcher } from './types.js';

/** A site's `fetcher` column picks one of these; platform fetchers (Legistar, CivicPlus, ...) join here. */
const fetchers: Record<string, Fetcher> = {
  'http-index': httpIndexFetcher,
};

export const knownFetchers = Object.keys(fetchers);

export function fetcherFor(name: string): Fetcher {
  const fetcher = fetchers[name];
  if (!fetcher) throw new Error(`unknown fetcher "${name}"; known: ${knownFetchers.join(', ')}`);
  return fetcher;
}

export { httpGet } from './http.js';
export * from './types.js';
