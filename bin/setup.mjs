#!/usr/bin/env node
// Makes sure a `temporal` CLI (the real dev server) is where clerk looks for it. Plain Node with
// no dependencies, so it runs before anything else is installed or compiled.
//   1. TEMPORAL_CLI or a `temporal` on PATH wins;
//   2. otherwise a build cached per user by version, found by every clone on the machine;
//   3. otherwise `go install` builds it into that cache (about 2.5 minutes cold);
//   4. without Go, clerk falls back to the SDK downloading the CLI at first start (needs internet).
// The project-local .tools/temporal always points at the binary found.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_CLI_VERSION = 'v1.5.1';
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = path.join(projectRoot, '.tools');
const cacheDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'clerk', `temporal-${TEMPORAL_CLI_VERSION}`);

function onPath(name) {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function link(binary) {
  fs.mkdirSync(toolsDir, { recursive: true });
  const target = path.join(toolsDir, 'temporal');
  fs.rmSync(target, { force: true });
  fs.symlinkSync(binary, target);
  return target;
}

function findExisting() {
  if (process.env.TEMPORAL_CLI) {
    if (!fs.existsSync(process.env.TEMPORAL_CLI)) {
      console.error(`setup: TEMPORAL_CLI is set to ${process.env.TEMPORAL_CLI}, which does not exist`);
      process.exit(1);
    }
    return process.env.TEMPORAL_CLI;
  }
  return onPath('temporal') ?? (fs.existsSync(path.join(cacheDir, 'temporal')) ? path.join(cacheDir, 'temporal') : undefined);
}

let binary = findExisting();
if (!binary && onPath('go')) {
  console.log(`setup: building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (a few minutes, once per machine)...`);
  const started = Date.now();
  fs.mkdirSync(cacheDir, { recursive: true });
  execFileSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: cacheDir },
  });
  binary = path.join(cacheDir, 'temporal');
  console.log(`setup: built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
}
if (binary) {
  console.log(`setup: temporal CLI at ${binary} (linked from ${path.relative(projectRoot, link(binary))})`);
} else {
  console.log('setup: no temporal CLI and no Go toolchain; the Temporal SDK will download the CLI when the dev server first starts (needs internet).');
}

// Native OCR and PDF tools: optional (clerk falls back to tesseract.js and pdf.js) but much faster
// and better. Installed with apt-get when missing and this runs as root on Debian/Ubuntu; otherwise
// setup says what to install and carries on.
const OCR_LANGUAGES = ['eng', 'spa', 'fra', 'osd'];
// The browser tests (`npm test` runs setup with --tests) drive Debian's chromium with playwright-core;
// the demo does not need a browser, so it does not install one.
const FOR_TESTS = process.argv.includes('--tests');
// The BullMQ peer benchmark (`npm run bench -- peer`, which runs setup without --tests) and its test
// start their own throwaway redis-server.
const APT_PACKAGES = ['tesseract-ocr', ...OCR_LANGUAGES.map((lang) => `tesseract-ocr-${lang}`), 'poppler-utils', 'redis-server', ...(FOR_TESTS ? ['chromium'] : [])];

function missingNativeTools() {
  const missing = [];
  if (!onPath('tesseract')) missing.push('tesseract');
  else {
    const listed = spawnSync('tesseract', ['--list-langs'], { encoding: 'utf8' }).stdout ?? '';
    const have = new Set(listed.split('\n').slice(1).map((line) => line.trim()));
    for (const lang of OCR_LANGUAGES) if (!have.has(lang)) missing.push(`tesseract language ${lang}`);
  }
  for (const tool of ['pdftoppm', 'pdftotext', 'pdfinfo', 'pdfimages']) if (!onPath(tool)) missing.push(tool);
  if (!onPath('redis-server')) missing.push('redis-server');
  if (FOR_TESTS && !onPath('chromium') && !process.env.CLERK_CHROMIUM) missing.push('chromium');
  return missing;
}

let missingTools = missingNativeTools();
if (missingTools.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!onPath('apt-get')) {
    console.log(`setup: missing ${missingTools.join(', ')}, and apt-get is not available here; install tesseract (with the ${OCR_LANGUAGES.join(', ')} language data) and poppler-utils with this system's package manager. Until then OCR uses tesseract.js (English and French models from npm, slower) and pdf.js.`);
  } else if (!isRoot) {
    console.log(`setup: missing ${missingTools.join(', ')}; install them with: sudo apt-get install ${APT_PACKAGES.join(' ')}`);
  } else {
    console.log(`setup: installing ${APT_PACKAGES.join(' ')} with apt-get (missing: ${missingTools.join(', ')})...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', ...APT_PACKAGES], { stdio: ['ignore', 'ignore', 'inherit'], env }) : update;
    if (install.status !== 0) console.log(`setup: apt-get could not install them (exit code ${install.status}); install ${APT_PACKAGES.join(' ')} by hand.`);
    missingTools = missingNativeTools();
  }
}
if (!onPath('tesseract')) console.log('setup: native tesseract not found; OCR uses tesseract.js with the English and French models shipped on npm (slower; other languages need native tesseract).');
if (!onPath('pdftoppm')) console.log('setup: poppler-utils not found; text layers are read and pages rendered with pdf.js instead (slower).');
if (FOR_TESTS && !onPath('chromium') && !process.env.CLERK_CHROMIUM) console.log("setup: chromium not found; the browser tests need Debian's chromium package (or CLERK_CHROMIUM=/path/to/chromium).");

// The compiled CLI and the prebuilt workflow bundle (bin/build.mjs), so `clerk` starts in plain Node:
// built when missing or stale (about 5-10 s). A failed build is reported and clerk runs the TypeScript.
const build = spawnSync(process.execPath, [path.join(projectRoot, 'bin', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) console.log('setup: the build failed (above); clerk runs the TypeScript through tsx until `npm run build` succeeds.');

// The Temporal server binary and its SQL tool (`clerk dev up --server cluster`, the cluster and
// multi-host tests) and MinIO (the S3 storage and multi-host tests), built once per machine into the
// per-user cache by Go (about 6 and 4 minutes cold). The tests need both, so --tests builds them;
// --with-cluster and --with-minio build one without the other.
for (const [flag, verb, what] of [
  ['--with-cluster', 'build-server', 'the Temporal server'],
  ['--with-minio', 'build-minio', 'MinIO'],
]) {
  if (!FOR_TESTS && !process.argv.includes(flag)) continue;
  const built = spawnSync(process.execPath, [path.join(projectRoot, 'bin', 'clerk.mjs'), 'dev', verb], { stdio: 'inherit' });
  if (built.status !== 0) {
    console.error(`setup: could not build ${what} (above)`);
    process.exit(1);
  }
}
