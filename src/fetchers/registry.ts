import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Fetcher } from './types.js';

/** The fetchers clerk knows by name: its own, then those its plugins add. */
export class FetcherRegistry {
  private readonly byName = new Map<string, Fetcher>();

  constructor(fetchers: Iterable<Fetcher>) {
    for (const fetcher of fetchers) this.add(fetcher, 'built in');
  }

  add(fetcher: Fetcher, origin: string): void {
    checkFetcherShape(fetcher, origin);
    if (this.byName.has(fetcher.name)) throw new PluginError(`${origin} defines fetcher "${fetcher.name}", which already exists`);
    this.byName.set(fetcher.name, fetcher);
  }

  get(name: string): Fetcher {
    const fetcher = this.byName.get(name);
    if (!fetcher) throw new UnknownFetcherError(name, this.names());
    return fetcher;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): Fetcher[] {
    return [...this.byName.values()];
  }
}

export class UnknownFetcherError extends Error {
  override name = 'UnknownFetcherError';
  constructor(fetcher: string, known: string[]) {
    super(`unknown fetcher "${fetcher}"; known: ${known.join(', ')} (plugins add more: see docs/FETCHERS.md)`);
  }
}

export class PluginError extends Error {
  override name = 'PluginError';
}

const PLUGIN_FILE = /\.(m?js|cjs|ts|mts)$/;

/**
 * Loads fetcher plugins into the registry. Each entry is a file, a folder (every .js/.mjs/.ts file
 * in it, in name order) or an npm package name resolved from `cwd`. A plugin module exports its
 * fetcher as `default`, `fetcher`, or an array `fetchers`.
 */
export async function loadPlugins(registry: FetcherRegistry, entries: readonly string[], cwd = process.cwd()): Promise<void> {
  for (const entry of entries) {
    for (const file of pluginFiles(entry, cwd)) {
      let loaded: Record<string, unknown>;
      try {
        loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (error) {
        throw new PluginError(`fetcher plugin ${file} (from CLERK_FETCHER_PLUGINS entry "${entry}") failed to load: ${(error as Error).message}`);
      }
      const exported = [loaded.default, loaded.fetcher, ...(Array.isArray(loaded.fetchers) ? loaded.fetchers : [])].flat().filter((value) => value !== undefined);
      if (exported.length === 0) throw new PluginError(`fetcher plugin ${file} exports no fetcher (export default, \`fetcher\` or \`fetchers\`)`);
      for (const fetcher of exported) registry.add(fetcher as Fetcher, `plugin ${file}`);
    }
  }
}

function pluginFiles(entry: string, cwd: string): string[] {
  const looksLikePath = entry.startsWith('.') || entry.startsWith('/') || entry.includes(path.sep) && !entry.startsWith('@');
  const resolved = path.resolve(cwd, entry);
  if (looksLikePath || fs.existsSync(resolved)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch {
      throw new PluginError(`fetcher plugin path ${resolved} does not exist (CLERK_FETCHER_PLUGINS)`);
    }
    if (!stat.isDirectory()) return [resolved];
    return fs
      .readdirSync(resolved)
      .filter((name) => PLUGIN_FILE.test(name) && !name.endsWith('.d.ts') && !name.includes('.test.'))
      .sort()
      .map((name) => path.join(resolved, name));
  }
  try {
    return [createRequire(path.join(cwd, 'package.json')).resolve(entry)];
  } catch {
    throw new PluginError(`fetcher plugin package "${entry}" is not installed here (npm install it, or give a path) (CLERK_FETCHER_PLUGINS)`);
  }
}

function checkFetcherShape(fetcher: unknown, origin: string): asserts fetcher is Fetcher {
  const candidate = fetcher as Partial<Fetcher> | null;
  if (!candidate || typeof candidate !== 'object') throw new PluginError(`${origin} exports a fetcher that is not an object`);
  if (typeof candidate.name !== 'string' || !/^[a-z][a-z0-9-]{1,40}$/.test(candidate.name)) {
    throw new PluginError(`${origin} exports a fetcher whose name is not lower-case letters, digits and dashes`);
  }
  if (typeof candidate.discover !== 'function') throw new PluginError(`${origin}: fetcher "${candidate.name}" has no discover() function`);
  if (typeof candidate.description !== 'string') throw new PluginError(`${origin}: fetcher "${candidate.name}" has no description`);
}
