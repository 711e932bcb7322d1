#!/usr/bin/env node
// Runs the compiled CLI (dist/cli/main.mjs, built by bin/build.mjs from `npm run setup`) while it was
// built from the sources exactly as they are now; otherwise the TypeScript through tsx, so the
// repository works without a build and an edit under src/ is never hidden by an old build.
// CLERK_CLI=tsx forces the TypeScript; CLERK_CLI_TRACE=1 prints which one runs, and why, on stderr.
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { buildDir, buildState, cliPath, siteStatusPackagesPath } from './build.mjs';

const state = process.env.CLERK_CLI === 'tsx' ? { fresh: false, reason: 'CLERK_CLI=tsx' } : buildState();
if (process.env.CLERK_CLI_TRACE === '1') console.error(`clerk: running ${state.fresh ? 'the compiled CLI' : 'the TypeScript through tsx'}: ${state.reason}`);

// Fetcher plugins (CLERK_FETCHER_PLUGINS) may be TypeScript: the compiled CLI loads them through tsx too.
if (!state.fresh || process.env.CLERK_FETCHER_PLUGINS) {
  const { register } = await import('tsx/esm/api');
  register();
}
if (state.fresh) {
  process.setSourceMapsEnabled(true);
  cacheCompiledPackages(path.join(buildDir, 'compile-cache'));
  await import(pathToFileURL(cliPath).href);
} else {
  await import('../src/cli/main.ts');
}

/**
 * Keeps V8's compiled code of the packages the CLI loads, so the next start reads it instead of
 * compiling them again: @temporalio/client and the protobuf definitions it loads are megabytes of
 * JavaScript, compiled at every `clerk status`. Node 22 does this itself (module.enableCompileCache);
 * on Node 20 the CommonJS files under node_modules are compiled here, as Node would (Module.wrap),
 * with V8's cached data: read when present, written at exit when missing or rejected (another Node
 * or V8 version). The cache files are named by the file's path, size and mtime and the Node version,
 * so an updated package never runs stale code, and they are written whole (rename) so that
 * clerk processes starting together never read half a file. Anything unexpected falls back to Node's
 * own compilation.
 */
function cacheCompiledPackages(dir) {
  if (typeof Module.enableCompileCache === 'function') {
    Module.enableCompileCache(dir);
    return;
  }
  // Required, not imported: importing node:crypto as an ES module builds its namespace, which
  // reads every lazy export (webcrypto and all) at a cost of tens of milliseconds.
  const { createHash } = Module.createRequire(import.meta.url)('node:crypto');
  const compile = Module.prototype._compile;
  const toWrite = [];
  const nodeModules = `${path.sep}node_modules${path.sep}`;
  // pg's file that asks, as it loads, whether it runs in a Cloudflare Worker (withNodeNavigator).
  const pgStream = path.join('node_modules', 'pg', 'lib', 'stream.js');
  Module.prototype._compile = function compileWithCache(content, filename) {
    if (!(filename.includes(nodeModules) || filename === siteStatusPackagesPath) || content.startsWith('#!')) return compile.call(this, content, filename);
    let cacheFile;
    let cachedData;
    let script;
    try {
      const stat = fs.statSync(filename);
      cacheFile = path.join(dir, `${createHash('sha1').update(`${process.version}\0${filename}\0${stat.size}\0${stat.mtimeMs}`).digest('hex')}.v8`);
      cachedData = readIfPresent(cacheFile);
      script = new vm.Script(Module.wrap(content), { filename, cachedData, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    } catch {
      // A syntax error (Node reports it better) or an unreadable file: Node's own way.
      return compile.call(this, content, filename);
    }
    if (cachedData === undefined || script.cachedDataRejected) toWrite.push({ script, cacheFile });
    const wrapper = script.runInThisContext({ displayErrors: true });
    const run = () => wrapper.call(this.exports, this.exports, requireFor(this), this, filename, path.dirname(filename));
    return filename.endsWith(pgStream) ? withNodeNavigator(run) : run();
  };
  // Written at exit: the code compiled while the command ran (lazily compiled functions too) is kept.
  process.once('exit', () => {
    if (toWrite.length === 0) return;
    try {
      fs.mkdirSync(dir, { recursive: true });
      for (const { script, cacheFile } of toWrite) {
        const temporary = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData());
        fs.renameSync(temporary, cacheFile);
      }
    } catch {
      // A cache that cannot be written (read-only checkout) only makes the next start slower.
    }
  });
}

/**
 * Runs `load` with `navigator` defined as Node 21 and later define it. pg asks whether it runs in a
 * Cloudflare Worker from navigator.userAgent and, where there is no navigator (Node 20), by making
 * a `Response`: its first use loads all of Node's fetch (undici), 25-80 ms of every command that
 * talks to Postgres, for an answer Node 20 knows. The global is removed again right after.
 */
function withNodeNavigator(load) {
  if (typeof globalThis.navigator !== 'undefined') return load();
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
  try {
    return load();
  } finally {
    delete globalThis.navigator;
  }
}

function readIfPresent(file) {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The `require` Node gives a CommonJS module. */
function requireFor(module) {
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}
