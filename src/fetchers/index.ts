import { civicclerkFetcher } from './civicclerk.js';
import { civicplusFetcher } from './civicplus.js';
import { folderFetcher } from './folder.js';
import { granicusFetcher } from './granicus.js';
import { httpIndexFetcher } from './http-index.js';
import { legistarFetcher } from './legistar.js';
import { primegovFetcher } from './primegov.js';
import { FetcherRegistry, loadPlugins } from './registry.js';
import type { Fetcher } from './types.js';

/** Every fetcher clerk ships, by the name a site's `fetcher` column gives. */
export const builtInFetchers: readonly Fetcher[] = [
  legistarFetcher,
  civicplusFetcher,
  granicusFetcher,
  primegovFetcher,
  civicclerkFetcher,
  httpIndexFetcher,
  folderFetcher,
];

let builtIn: FetcherRegistry | undefined;

/** The built-in fetchers alone, for code that loads no plugins. */
export function builtInRegistry(): FetcherRegistry {
  builtIn ??= new FetcherRegistry(builtInFetchers);
  return builtIn;
}

const registries = new Map<string, Promise<FetcherRegistry>>();

/** The built-in fetchers plus the plugins named in CLERK_FETCHER_PLUGINS, loaded once per process. */
export function fetcherRegistry(pluginEntries: readonly string[] = []): Promise<FetcherRegistry> {
  const key = pluginEntries.join('\n');
  let registry = registries.get(key);
  if (!registry) {
    registry = (async () => {
      const loaded = new FetcherRegistry(builtInFetchers);
      await loadPlugins(loaded, pluginEntries);
      return loaded;
    })();
    registry.catch(() => registries.delete(key));
    registries.set(key, registry);
  }
  return registry;
}

export { FetcherRegistry, PluginError, UnknownFetcherError } from './registry.js';
export { HttpClient, type DownloadResult, type HttpPolicy } from './http.js';
export { DiscoveryBuilder } from './listing.js';
export * from './types.js';
