import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// bin/clerk.mjs runs the compiled CLI (bin/build.mjs) only while its build matches the sources, and
// the TypeScript through tsx otherwise. Checked on a copy of the project (its node_modules linked),
// so building and editing sources here never touches the checkout's own dist/ or src/.
const root = fileURLToPath(new URL('../../', import.meta.url));
let copy: string;

function clerk(args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  const run = spawnSync(process.execPath, [path.join(copy, 'bin/clerk.mjs'), ...args], {
    cwd: copy,
    input: options.input,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CLERK_CLI_TRACE: '1', COLUMNS: '120', ...options.env },
  });
  const trace = /^clerk: running (the compiled CLI|the TypeScript through tsx): (.*)$/m.exec(run.stderr);
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, ran: trace?.[1] === 'the compiled CLI' ? 'compiled' : trace ? 'tsx' : 'unknown', why: trace?.[2] };
}

const tsx = { CLERK_CLI: 'tsx' };

beforeAll(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-cli-startup-'));
  for (const entry of ['bin', 'src', 'migrations', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    fs.cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  const build = spawnSync(process.execPath, [path.join(copy, 'bin/build.mjs')], { cwd: copy, encoding: 'utf8', timeout: 180_000 });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
});
afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

describe('the compiled CLI', () => {
  it('runs after a build, with the same help as the TypeScript', () => {
    const compiled = clerk(['--help']);
    expect(compiled.ran).toBe('compiled');
    expect(compiled.code).toBe(0);
    const typescript = clerk(['--help'], { env: tsx });
    expect(typescript.ran).toBe('tsx');
    expect(compiled.stdout).toBe(typescript.stdout);
    expect(compiled.stdout).toMatch(/^\s+status \[options\] \[subdomain\]/m);
  });

  it('gives each command the same help and usage errors as the TypeScript', () => {
    for (const args of [['help', 'status'], ['site', '--help'], ['no-such-command'], ['status', '--no-such-flag']]) {
      const compiled = clerk(args);
      const typescript = clerk(args, { env: tsx });
      expect(compiled.ran).toBe('compiled');
      expect({ args, code: compiled.code, stdout: compiled.stdout, stderr: compiled.stderr.replace(/^clerk: running .*\n/m, '') }).toEqual({
        args,
        code: typescript.code,
        stdout: typescript.stdout,
        stderr: typescript.stderr.replace(/^clerk: running .*\n/m, ''),
      });
    }
  });

  it('runs a command whose work is in a child process started from a source file (extract --pdf)', async () => {
    const pdf = await PDFDocument.create();
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    const lines = ['Motion by Council Member Ortiz, seconded by Council Member Chen, to approve the minutes.', 'Ayes: Ortiz, Chen, Ramirez. Noes: None.', 'The motion carried 3-0.'];
    const page = pdf.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 16, size: 10, font }));
    const file = path.join(copy, 'minutes.pdf');
    fs.writeFileSync(file, await pdf.save());
    const compiled = clerk(['extract', '--pdf', file]);
    expect(compiled.ran).toBe('compiled');
    expect(compiled.stderr.replace(/^clerk: running .*\n/m, '')).toBe('');
    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toBe(clerk(['extract', '--pdf', file], { env: tsx }).stdout);
    expect(compiled.stdout).toContain('Ortiz');
  });

  it("loads only what status needs: no fetcher's parser, no SDK client for one site, and kysely compiled into the chunks", () => {
    const cli = path.join(copy, 'dist/cli');
    const packagesImportedFrom = (chunk: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> => {
      if (seen.has(chunk)) return packages;
      seen.add(chunk);
      const source = fs.readFileSync(path.join(cli, chunk), 'utf8');
      // Static imports only: a dynamic import() loads nothing until the code that calls it runs.
      for (const [, specifier] of source.matchAll(/^import\s[^;]*?from\s*"([^"]+)";?$|^import\s*"([^"]+)";?$/gm)) {
        if (specifier?.startsWith('./')) packagesImportedFrom(specifier.slice(2), seen, packages);
        else if (specifier) packages.add(specifier);
      }
      // A package required from node_modules, or taken from the file the build compiled the site-status packages into.
      for (const [, name, bundled] of source.matchAll(/createRequire\d*\(import\.meta\.url\)\("([^"]+)"\)(?:\["([^"]+)"\])?/g)) packages.add(bundled ?? name!);
      return packages;
    };
    const statusChunk = fs.readdirSync(cli).find((name) => /^status-.*\.mjs$/.test(name))!;
    const loaded = packagesImportedFrom(statusChunk);
    expect(loaded).toContain('pg');
    for (const heavy of ['cheerio', 'zod', 'kysely', '@temporalio/worker', '@temporalio/client', '@temporalio/proto', 'cli-progress']) expect(loaded, heavy).not.toContain(heavy);
    // A site's run is read over gRPC with its few messages, not through the SDK's client and all of @temporalio/proto.
    const siteRuns = packagesImportedFrom(fs.readdirSync(cli).find((name) => /^site-status-rpc-[A-Z0-9]+\.mjs$/.test(name))!);
    expect(siteRuns).toContain('@grpc/grpc-js');
    for (const heavy of ['@temporalio/client', '@temporalio/proto', '@temporalio/common', '@temporalio/workflow']) expect(siteRuns, heavy).not.toContain(heavy);
    // @grpc/grpc-js and protobufjs come from one compiled file, which loads no package at its start.
    const sitePackages = fs.readFileSync(path.join(cli, 'site-status-packages.cjs'), 'utf8');
    expect([...sitePackages.matchAll(/^(?:var|const|let) [\w$]+ = require\("([^"]+)"\)/gm)].map(([, name]) => name).filter((name) => !name!.startsWith('node:') && !/^[a-z0-9_]+$/.test(name!))).toEqual([]);
  });

  it('runs `clerk status <site>` from the compiled site-status packages with the same answer as the TypeScript', () => {
    // No server to reach: both give the same error and exit code, after loading the same modules.
    const env = { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:9/none', TEMPORAL_ADDRESS: '127.0.0.1:9' };
    const compiled = clerk(['status', 'somewhere.ca', '--json'], { env });
    expect(compiled.ran).toBe('compiled');
    const typescript = clerk(['status', 'somewhere.ca', '--json'], { env: { ...env, ...tsx } });
    expect({ code: compiled.code, stdout: compiled.stdout, stderr: compiled.stderr.replace(/^clerk: running .*\n/m, '') }).toEqual({
      code: typescript.code,
      stdout: typescript.stdout,
      stderr: typescript.stderr.replace(/^clerk: running .*\n/m, ''),
    });
    expect(compiled.code).toBe(3);
    expect(compiled.stderr).toContain('cannot reach Postgres at postgres://nobody:***@127.0.0.1:9/none');
  });

  it("keeps V8's compiled code of the packages it loads, and runs the same from it", () => {
    const cache = path.join(copy, 'dist/compile-cache');
    fs.rmSync(cache, { recursive: true, force: true });
    const first = clerk(['status', '--help']);
    expect(first.ran).toBe('compiled');
    expect(fs.readdirSync(cache).length).toBeGreaterThan(10);
    const cached = clerk(['status', '--help']);
    expect(cached.code).toBe(0);
    expect(cached.stdout).toBe(first.stdout);
    expect(cached.stdout).toBe(clerk(['status', '--help'], { env: tsx }).stdout);
  });

  it('ships the prebuilt workflow bundle the compiled workers load', () => {
    expect(fs.statSync(path.join(copy, 'dist/workflow-bundle.js')).size).toBeGreaterThan(100_000);
    const chunks = fs.readdirSync(path.join(copy, 'dist/cli')).filter((name) => name.endsWith('.mjs'));
    expect(chunks.some((name) => fs.readFileSync(path.join(copy, 'dist/cli', name), 'utf8').includes('"dist/workflow-bundle.js"'))).toBe(true);
  });
});

describe('a stale build', () => {
  it('falls back to the TypeScript when a source changes, and runs the compiled CLI again once rebuilt', () => {
    expect(clerk(['--help']).ran).toBe('compiled');
    const source = path.join(copy, 'src/cli/main.ts');
    const later = new Date(fs.statSync(source).mtimeMs + 5_000);
    fs.utimesSync(source, later, later);
    const stale = clerk(['--help']);
    expect(stale.ran).toBe('tsx');
    expect(stale.why).toMatch(/stale build/);
    expect(stale.code).toBe(0);

    const rebuilt = spawnSync(process.execPath, [path.join(copy, 'bin/build.mjs'), '--if-stale'], { cwd: copy, encoding: 'utf8', timeout: 180_000 });
    expect(rebuilt.status).toBe(0);
    expect(clerk(['--help']).ran).toBe('compiled');
    expect(spawnSync(process.execPath, [path.join(copy, 'bin/build.mjs'), '--if-stale'], { cwd: copy, encoding: 'utf8' }).stdout).toMatch(/up to date/);
  });

  it('falls back to the TypeScript when a source file is added', () => {
    expect(clerk(['--help']).ran).toBe('compiled');
    const added = path.join(copy, 'src/cli/added-after-the-build.ts');
    fs.writeFileSync(added, 'export const added = true;\n');
    try {
      expect(clerk(['--help']).ran).toBe('tsx');
    } finally {
      fs.rmSync(added);
    }
    expect(clerk(['--help']).ran).toBe('compiled');
  });

  it("stays fresh when only an editor's dotfile comes and goes beside the sources, and goes stale when a source file is removed", () => {
    expect(clerk(['--help']).ran).toBe('compiled');
    const swap = path.join(copy, 'src/cli/.main.ts.swp');
    fs.writeFileSync(swap, 'editor state');
    try {
      expect(clerk(['--help']).ran).toBe('compiled');
    } finally {
      fs.rmSync(swap);
    }
    const removed = path.join(copy, 'src/cli/where-to-search.ts');
    const content = fs.readFileSync(removed);
    const times = fs.statSync(removed);
    fs.rmSync(removed);
    try {
      const stale = clerk(['--help']);
      expect(stale.ran).toBe('tsx');
      expect(stale.why).toMatch(/stale build/);
    } finally {
      fs.writeFileSync(removed, content);
      fs.utimesSync(removed, times.atime, times.mtime);
    }
    expect(clerk(['--help']).ran).toBe('compiled');
  });

  it('runs the TypeScript when there is no build', () => {
    fs.rmSync(path.join(copy, 'dist/stamp.json'));
    const run = clerk(['--help']);
    expect(run.ran).toBe('tsx');
    expect(run.why).toMatch(/no build/);
  });
});
