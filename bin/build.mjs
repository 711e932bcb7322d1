#!/usr/bin/env node
// Builds the CLI once, so `clerk` starts in plain Node instead of compiling TypeScript on every start:
//   dist/cli/main.mjs        src/cli/main.ts and the project code it imports as ES modules (packages stay
//                            in node_modules, but for BUNDLED_PACKAGES), with source maps; each command's code in its own chunk,
//                            loaded only when that command runs (bin/lazy-commands.mjs);
//   dist/cli/commands.json   every command's name, description, options and arguments, for --help;
//   dist/cli/site-status-packages.cjs  the packages `clerk status <site>` calls Temporal with, in one file;
//   dist/workflow-bundle.js  the workflow code bundled for Temporal's sandbox, which workers load
//                            instead of bundling src/workflows at every start;
//   dist/stamp.json          what the build was made from: each input folder (mtime, names) and file (size, mtime);
//   dist/compile-cache/      written by bin/clerk.mjs as it runs: V8's compiled code of the packages it loads.
// bin/clerk.mjs runs dist/cli/main.mjs only while the stamp matches the files as they are now (any edit,
// new or deleted file under src/ or migrations/, or a changed package.json or package-lock.json makes
// it stale); otherwise it runs the TypeScript through tsx, so an edit is never hidden by an old build.
//
// `node bin/build.mjs` builds; `--if-stale` builds only when the build is missing or stale (setup).
// This module's top level imports Node built-ins only: bin/clerk.mjs imports buildState() from it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the build goes: dist/ unless CLERK_BUILD_DIR says otherwise (it must be inside the project, for node_modules). */
export const buildDir = path.resolve(projectRoot, process.env.CLERK_BUILD_DIR || 'dist');
const cliDir = path.join(buildDir, 'cli');
export const cliPath = path.join(cliDir, 'main.mjs');
export const workflowBundlePath = path.join(buildDir, 'workflow-bundle.js');
/** SITE_STATUS_PACKAGES compiled into one file (buildSiteStatusPackages). */
export const siteStatusPackagesPath = path.join(cliDir, 'site-status-packages.cjs');
const stampPath = path.join(buildDir, 'stamp.json');

/** The folders and files the build is made from (relative to the project root). */
const INPUT_FOLDERS = ['src', 'migrations'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin/build.mjs', 'bin/lazy-commands.mjs'];

/**
 * The inputs as they are now, by stat alone (no file is read): every input folder with its mtime
 * and the names in it, every input file with its size and mtime. Dotfiles are skipped: editors'
 * temporary files come and go beside the sources.
 */
export function sourceSnapshot() {
  const folders = {};
  const files = {};
  const addFile = (relative) => {
    const stat = fs.statSync(path.join(projectRoot, relative), { throwIfNoEntry: false });
    files[relative] = stat ? [stat.size, stat.mtimeMs] : null;
  };
  const walk = (relative) => {
    const absolute = path.join(projectRoot, relative);
    let stat;
    let entries;
    try {
      stat = fs.statSync(absolute);
      entries = fs.readdirSync(absolute, { withFileTypes: true });
    } catch {
      folders[relative] = null;
      return;
    }
    const visible = entries.filter((e) => !e.name.startsWith('.'));
    folders[relative] = { mtimeMs: stat.mtimeMs, names: visible.map((e) => e.name).sort() };
    for (const entry of visible) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else addFile(child);
    }
  };
  for (const folder of INPUT_FOLDERS) walk(folder);
  for (const file of INPUT_FILES) addFile(file);
  return { folders, files };
}

/**
 * Whether the inputs are still exactly as `snapshot` found them, as cheaply as bin/clerk.mjs's every
 * start needs: one stat per folder and file it lists, and no folder is read unless its mtime moved
 * (a file added, removed or renamed in it, an editor's temporary file included); then its names
 * are compared. A file edited in place changes its own mtime (and usually its size).
 * The reason it is not, or null when it is.
 */
function snapshotDiffers(snapshot) {
  if (!snapshot || typeof snapshot.folders !== 'object' || typeof snapshot.files !== 'object') return 'an older build format';
  for (const [relative, recorded] of Object.entries(snapshot.folders)) {
    const absolute = path.join(projectRoot, relative);
    const stat = fs.statSync(absolute, { throwIfNoEntry: false });
    if (!recorded) {
      if (stat) return `${relative}/ appeared`;
      continue;
    }
    if (!stat?.isDirectory()) return `${relative}/ went`;
    if (stat.mtimeMs === recorded.mtimeMs) continue;
    let names;
    try {
      names = fs.readdirSync(absolute).filter((name) => !name.startsWith('.')).sort();
    } catch {
      return `${relative}/ is unreadable`;
    }
    if (names.length !== recorded.names.length || names.some((name, i) => name !== recorded.names[i])) return `a file was added to or removed from ${relative}/`;
  }
  for (const [relative, recorded] of Object.entries(snapshot.files)) {
    const stat = fs.statSync(path.join(projectRoot, relative), { throwIfNoEntry: false });
    if (!recorded) {
      if (stat) return `${relative} appeared`;
      continue;
    }
    if (!stat || stat.size !== recorded[0] || stat.mtimeMs !== recorded[1]) return `${relative} changed`;
  }
  return null;
}

/** Whether dist/cli/main.mjs may run: `{ fresh, reason }`, where reason says why not. */
export function buildState() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampPath, 'utf8'));
  } catch {
    return { fresh: false, reason: `no build (${path.relative(projectRoot, stampPath)} missing; npm run setup builds it)` };
  }
  const changed = snapshotDiffers(stamp.inputs);
  if (changed) return { fresh: false, reason: `stale build (${changed} since it was built; npm run setup rebuilds it)` };
  if (![cliPath, workflowBundlePath, siteStatusPackagesPath, path.join(cliDir, 'commands.json')].every((file) => fs.existsSync(file))) return { fresh: false, reason: 'incomplete build' };
  return { fresh: true, reason: `built ${stamp.builtAt}` };
}

/**
 * Rewrites `import.meta.url` in each project file to that file's own URL, relative to the bundle,
 * so paths computed from it (child scripts, the workflows folder, the project root) still point at
 * the real files, as they do when the TypeScript runs directly.
 */
function keepImportMetaUrl() {
  return {
    name: 'keep-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const relative = path.relative(cliDir, args.path).split(path.sep).join('/');
        const own = `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
        return { contents: source.replaceAll('import.meta.url', own), loader: 'ts' };
      });
    },
  };
}

/**
 * Packages compiled into the CLI's chunks instead of loaded from node_modules when a command runs.
 * kysely ships some 400 small ES modules: resolving and reading each one took about 0.3 s of every
 * start of `clerk status`; bundled, it loads in about 0.03 s. Only packages that are pure
 * JavaScript, that no package left in node_modules imports (so a process never holds two copies of
 * one whose identity matters) and that need no file of their own at run time belong here.
 */
export const BUNDLED_PACKAGES = ['kysely'];

/**
 * CommonJS packages the CLI loads with require() instead of import. Node imports a CommonJS package
 * into an ES module by first scanning its source, and every file it re-exports, for the names it
 * exports (cjs-module-lexer); for @temporalio/client that scan alone was about 0.06 s of a `clerk
 * status`. require() skips it and returns the very same module object (one module cache), so nothing
 * else changes. The names each exports are read once, at build time.
 */
export const REQUIRED_PACKAGES = [
  '@temporalio/client',
  '@temporalio/common',
  '@temporalio/workflow',
  'pg',
  'commander',
  'cli-progress',
  // What `clerk status <site>` loads instead of the SDK's client (src/temporal/site-status-rpc.ts).
  '@grpc/grpc-js',
  'protobufjs/light.js',
  '@temporalio/client/lib/grpc-retry.js',
  '@temporalio/common/lib/converter/payload-converter.js',
  '@temporalio/common/lib/internal-non-workflow/parse-host-uri.js',
];

/**
 * Of the REQUIRED_PACKAGES, those `clerk status <site>` loads to call Temporal directly
 * (src/temporal/site-status-rpc.ts), compiled by esbuild into one CommonJS file beside the chunks,
 * dist/cli/site-status-packages.cjs: @grpc/grpc-js and protobufjs are some 90 small files whose
 * resolution and reading took about 60 ms of every `clerk status <site>`; one file loads in a
 * fraction of that, with V8's compile cache (bin/clerk.mjs) like any package. They go in together
 * because grpc-retry requires @grpc/grpc-js: the process holds one copy of it, as before. Only
 * the SDK's own client (the fallback of site-status-rpc.ts) loads another, from node_modules, and
 * shares nothing with this one. Packages the bundle requires lazily (@grpc/proto-loader, long) stay
 * in node_modules.
 */
export const SITE_STATUS_PACKAGES = ['@grpc/grpc-js', 'protobufjs/light.js', '@temporalio/client/lib/grpc-retry.js'];
const sitePackagesFile = path.basename(siteStatusPackagesPath);

async function buildSiteStatusPackages(esbuild) {
  const entry = `module.exports = { ${SITE_STATUS_PACKAGES.map((name) => `${JSON.stringify(name)}: require(${JSON.stringify(name)})`).join(', ')} };`;
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: projectRoot, sourcefile: 'site-status-packages.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    outfile: siteStatusPackagesPath,
    logLevel: 'silent',
    external: ['@grpc/proto-loader', 'long'],
    banner: { js: '// Built by bin/build.mjs from node_modules (SITE_STATUS_PACKAGES). Do not edit.' },
  });
  return result.outputFiles;
}

/** Every other package stays in node_modules (`packages: 'external'`), imported as written. */
function externalPackages({ bundled, required }) {
  const packageName = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  const requireFromProject = createRequire(path.join(projectRoot, 'package.json'));
  return {
    name: 'external-packages',
    setup(build) {
      // Bare specifiers only: relative and absolute paths are the project's own files (or a bundled package's).
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (bundled.includes(packageName(args.path))) return undefined;
        if (required.includes(args.path)) return { path: args.path, namespace: 'required-package' };
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: 'required-package' }, (args) => {
        const names = Object.keys(requireFromProject(args.path)).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default');
        const load = SITE_STATUS_PACKAGES.includes(args.path)
          ? `createRequire(import.meta.url)(${JSON.stringify(`./${sitePackagesFile}`)})[${JSON.stringify(args.path)}]`
          : `createRequire(import.meta.url)(${JSON.stringify(args.path)})`;
        const contents = [
          `import { createRequire } from 'node:module';`,
          `const cjs = ${load};`,
          `export default cjs;`,
          names.length > 0 ? `export const { ${names.join(', ')} } = cjs;` : '',
        ].join('\n');
        return { contents, loader: 'js', resolveDir: projectRoot };
      });
    },
  };
}

/**
 * Turns src/cli/main.ts's `import { xCommand } from './commands/x.js'` lines into one call of
 * lazyCommandFactories (bin/lazy-commands.mjs) with a dynamic import per module, so each command
 * becomes its own chunk. Any other line of main.ts stays as written; commands added later are picked
 * up by the same pattern (an import it does not match simply stays eager).
 */
function lazyCommands() {
  const mainPath = path.join(projectRoot, 'src', 'cli', 'main.ts');
  const pattern = /^import\s*\{([^}]*)\}\s*from\s*'(\.\/commands\/[^']+\.js)';[ \t]*$/gm;
  return {
    name: 'lazy-commands',
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]cli[\\/]main\.ts$/ }, async (args) => {
        if (path.resolve(args.path) !== mainPath) return undefined;
        const source = await fs.promises.readFile(args.path, 'utf8');
        const loaders = [];
        let first = -1;
        const rest = source.replace(pattern, (line, names, specifier, offset) => {
          const factories = names.split(',').map((name) => name.trim()).filter(Boolean);
          if (!factories.every((name) => /^[A-Za-z_$][\w$]*Command$/.test(name))) return line;
          if (first < 0) first = offset;
          for (const name of factories) loaders.push(`${name}: () => import(${JSON.stringify(specifier)})`);
          return '';
        });
        if (loaders.length === 0) return undefined;
        const names = loaders.map((loader) => loader.slice(0, loader.indexOf(':')));
        // One line, in place of the first import: main.ts keeps its line numbers (source maps, errors).
        const call =
          `import { lazyCommandFactories as __lazyCommandFactories } from ${JSON.stringify(path.join(projectRoot, 'bin', 'lazy-commands.mjs'))}; ` +
          `const { ${names.join(', ')} } = await __lazyCommandFactories({ ${loaders.join(', ')} });`;
        return { contents: rest.slice(0, first) + call + rest.slice(first), loader: 'ts' };
      });
    },
  };
}

/** Builds dist/ from the sources as they are now; the stamp is written last, so a failed build never runs. */
export async function build({ log = console.log } = {}) {
  const started = Date.now();
  // Taken before reading any source: an edit made during the build leaves the build stale.
  const inputs = sourceSnapshot();
  fs.mkdirSync(buildDir, { recursive: true });
  fs.rmSync(stampPath, { force: true });
  const esbuild = await import('esbuild');
  const siteStatusRpc = await siteStatusRpcDescriptor();
  const result = await esbuild.build({
    entryPoints: [path.join(projectRoot, 'src/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    splitting: true,
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    outdir: cliDir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [externalPackages({ bundled: BUNDLED_PACKAGES, required: REQUIRED_PACKAGES }), lazyCommands(), keepImportMetaUrl()],
    // The compiled CLI's workers load the workflow bundle built beside it (src/workers/create.ts).
    define: {
      CLERK_PREBUILT_WORKFLOW_BUNDLE: JSON.stringify(path.relative(projectRoot, workflowBundlePath).split(path.sep).join('/')),
      // The messages and names `clerk status <site>` calls Temporal with, read once from the SDK here.
      CLERK_SITE_STATUS_RPC: JSON.stringify(siteStatusRpc),
    },
    banner: { js: '// Built by bin/build.mjs from src/; bin/clerk.mjs runs it only while src/ is unchanged. Do not edit.' },
  });
  const sitePackages = await buildSiteStatusPackages(esbuild);
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const workflows = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'src/workflows/index.ts'),
    logger: quietLogger(),
  });
  fs.mkdirSync(cliDir, { recursive: true });
  for (const file of [...result.outputFiles, ...sitePackages]) writeAtomically(file.path, file.contents);
  // Chunks are named by content, so a running clerk (a worker, the dev stack) keeps finding the ones
  // it may still import; those of older builds go once they are a day old.
  const written = new Set(result.outputFiles.map((file) => path.basename(file.path)));
  for (const name of fs.readdirSync(cliDir)) {
    const file = path.join(cliDir, name);
    if (!written.has(name) && name !== 'commands.json' && name !== sitePackagesFile && Date.now() - fs.statSync(file).mtimeMs > 86_400_000) fs.rmSync(file, { force: true });
  }
  writeAtomically(workflowBundlePath, workflows.code);
  // V8's cached code of the packages (bin/clerk.mjs) is made again by the new build's first runs:
  // a new package-lock.json may have replaced what it was compiled from.
  fs.rmSync(path.join(buildDir, 'compile-cache'), { recursive: true, force: true });
  // Every real command, loaded once, describes itself for the stand-ins that --help lists.
  const manifest = path.join(cliDir, 'commands.json');
  const dumped = spawnSync(process.execPath, [cliPath], { env: { ...process.env, CLERK_CLI_DUMP_COMMANDS: `${manifest}.tmp` }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (dumped.status !== 0 || !fs.existsSync(`${manifest}.tmp`)) throw new Error(`the compiled CLI could not list its commands (exit code ${dumped.status})`);
  fs.renameSync(`${manifest}.tmp`, manifest);
  writeAtomically(stampPath, `${JSON.stringify({ builtAt: new Date().toISOString(), inputs })}\n`);
  log(`build: ${path.relative(projectRoot, cliPath)} and ${path.relative(projectRoot, workflowBundlePath)} from ${Object.keys(inputs.files).length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * src/temporal/site-status-rpc-descriptor.ts run through tsx: the few protobuf messages of
 * `clerk status <site>`, from @temporalio/proto as installed. null (the status command then uses the
 * SDK's client) if it cannot be made, which is reported.
 */
async function siteStatusRpcDescriptor() {
  try {
    const { tsImport } = await import('tsx/esm/api');
    const { siteStatusRpcDescriptor: make } = await tsImport('../src/temporal/site-status-rpc-descriptor.ts', import.meta.url);
    return await make();
  } catch (error) {
    console.warn(`build: \`clerk status <site>\` will load the SDK's whole client: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, contents);
  fs.renameSync(temporary, file);
}

function quietLogger() {
  const noop = () => {};
  return { log: noop, trace: noop, debug: noop, info: noop, warn: (message) => console.warn(`build: ${message}`), error: (message) => console.error(`build: ${message}`) };
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  const state = buildState();
  if (process.argv.includes('--if-stale') && state.fresh) {
    console.log(`build: ${path.relative(projectRoot, cliPath)} is up to date`);
  } else {
    try {
      await build();
    } catch (error) {
      console.error(`build: failed, so clerk runs the TypeScript through tsx until a build succeeds: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
}
