#!/usr/bin/env node
// Builds the CLI once, so `clerk` starts in plain Node instead of compiling TypeScript on every start:
//   dist/cli/main.mjs        src/cli/main.ts and the project code it imports as ES modules (packages stay
//                            in node_modules, but for BUNDLED_PACKAGES), with source maps; each command's code in its own chunk,
//                            loaded only when that command runs (bin/lazy-commands.mjs);
//   dist/cli/commands.json   every command's name, description, options and arguments, for --help;
//   dist/workflow-bundle.js  the workflow code bundled for Temporal's sandbox, which workers load
//                            instead of bundling src/workflows at every start;
//   dist/stamp.json          what the build was made from: one line per input file (path, size, mtime);
//   dist/compile-cache/      written by bin/clerk.mjs as it runs: V8's compiled code of the packages it loads.
// bin/clerk.mjs runs dist/cli/main.mjs only while the stamp matches the files as they are now (any edit,
// new or deleted file under src/ or migrations/, or a changed package.json or package-lock.json makes
// it stale); otherwise it runs the TypeScript through tsx, so an edit is never hidden by an old build.
//
// `node bin/build.mjs` builds; `--if-stale` builds only when the build is missing or stale (setup).
// This module's top level imports Node built-ins only: bin/clerk.mjs imports buildState() from it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
const stampPath = path.join(buildDir, 'stamp.json');

/** The folders and files the build is made from (relative to the project root). */
const INPUT_FOLDERS = ['src', 'migrations'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin/build.mjs', 'bin/lazy-commands.mjs'];

/** A digest of every input file's path, size and mtime: a stat walk, no file is read. */
export function sourceStamp() {
  const lines = [];
  const add = (relative) => {
    try {
      const stat = fs.statSync(path.join(projectRoot, relative));
      lines.push(`${relative}\t${stat.size}\t${stat.mtimeMs}`);
    } catch {
      lines.push(`${relative}\tmissing`);
    }
  };
  const walk = (relative) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(projectRoot, relative), { withFileTypes: true });
    } catch {
      lines.push(`${relative}/\tmissing`);
      return;
    }
    // Dotfiles are skipped: editors' temporary files come and go beside the sources.
    for (const entry of entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else add(child);
    }
  };
  for (const folder of INPUT_FOLDERS) walk(folder);
  for (const file of INPUT_FILES) add(file);
  return { files: lines.length, digest: createHash('sha256').update(lines.join('\n')).digest('hex') };
}

/** Whether dist/cli/main.mjs may run: `{ fresh, reason }`, where reason says why not. */
export function buildState() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(stampPath, 'utf8'));
  } catch {
    return { fresh: false, reason: `no build (${path.relative(projectRoot, stampPath)} missing; npm run setup builds it)` };
  }
  if (stamp.digest !== sourceStamp().digest) return { fresh: false, reason: 'stale build (sources changed since it was built; npm run setup rebuilds it)' };
  if (!fs.existsSync(cliPath) || !fs.existsSync(workflowBundlePath) || !fs.existsSync(path.join(cliDir, 'commands.json'))) return { fresh: false, reason: 'incomplete build' };
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
        const contents = [
          `import { createRequire } from 'node:module';`,
          `const cjs = createRequire(import.meta.url)(${JSON.stringify(args.path)});`,
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
  const stamp = sourceStamp();
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
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const workflows = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'src/workflows/index.ts'),
    logger: quietLogger(),
  });
  fs.mkdirSync(cliDir, { recursive: true });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  // Chunks are named by content, so a running clerk (a worker, the dev stack) keeps finding the ones
  // it may still import; those of older builds go once they are a day old.
  const written = new Set(result.outputFiles.map((file) => path.basename(file.path)));
  for (const name of fs.readdirSync(cliDir)) {
    const file = path.join(cliDir, name);
    if (!written.has(name) && name !== 'commands.json' && Date.now() - fs.statSync(file).mtimeMs > 86_400_000) fs.rmSync(file, { force: true });
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
  writeAtomically(stampPath, `${JSON.stringify({ digest: stamp.digest, files: stamp.files, builtAt: new Date().toISOString() }, null, 2)}\n`);
  log(`build: ${path.relative(projectRoot, cliPath)} and ${path.relative(projectRoot, workflowBundlePath)} from ${stamp.files} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
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
