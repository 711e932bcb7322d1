import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerTypes } from '../../src/activities/index.js';

/**
 * docker-compose.yml checked by a real Compose implementation (compose-spec/compose-go, the loader
 * inside `docker compose`), through scripts/validate-compose.sh as CI runs it. The first run on a
 * machine builds the validator into the per-user cache (20-40 s); later runs take milliseconds.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const script = path.join(root, 'scripts', 'validate-compose.sh');
const composeFile = path.join(root, 'docker-compose.yml');
const goInstalled = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).status === 0;
if (!goInstalled) console.warn('compose.test: Go is not installed, so the Compose validator cannot be built; skipping (install Go 1.24 or later)');

function validate(...args: string[]) {
  const run = spawnSync(script, args, { encoding: 'utf8', timeout: 600_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The real file with one change; fails loudly if the change no longer applies. */
function brokenCopy(name: string, from: string | RegExp, to: string): string {
  const original = fs.readFileSync(composeFile, 'utf8');
  const broken = original.replace(from, to);
  expect(broken, `${String(from)} is no longer in docker-compose.yml`).not.toBe(original);
  const file = path.join(dir, name, 'docker-compose.yml');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, broken);
  return file;
}

let dir: string;
let first: ReturnType<typeof validate>;

describe.skipIf(!goInstalled)('docker-compose.yml, validated by compose-go', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-compose-'));
    // Builds the validator when the cache has none: no time limit is asserted, only a generous one set.
    first = validate(composeFile);
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is valid', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('docker-compose.yml: valid');
  });

  it('runs every worker type, and clerk serve on port 8000 over the data volume without Postgres or Temporal', () => {
    const run = validate('--json', composeFile);
    expect(run.code, run.stderr).toBe(0);
    const project = JSON.parse(run.stdout) as {
      services: Record<string, { command?: string[]; ports?: { target: number; published: string }[]; volumes?: { source: string; target: string; read_only?: boolean }[]; depends_on?: object; environment?: Record<string, string> }>;
    };
    for (const type of workerTypes) {
      expect(project.services[`worker-${type}`]?.command).toEqual(['node', 'bin/clerk.mjs', 'worker', type, '--metrics-port', '9464', '--log-format', 'json']);
    }
    // Prometheus scrapes them with the repository's config.
    const prometheus = project.services['prometheus'];
    expect(prometheus?.volumes).toEqual([expect.objectContaining({ target: '/etc/prometheus/prometheus.yml', read_only: true })]);
    expect(fs.readFileSync(path.resolve('deploy/prometheus.yml'), 'utf8')).toMatch(/port: 9464/);

    const serve = project.services['clerk-serve'];
    expect(serve?.command).toEqual(['node', 'bin/clerk.mjs', 'serve', '--host', '0.0.0.0', '--port', '8000']);
    expect(serve?.ports?.map((p) => [p.published, p.target])).toEqual([['8000', 8000]]);
    expect(serve?.volumes).toEqual([expect.objectContaining({ source: 'clerk-data', target: '/data', read_only: true })]);
    expect(serve?.depends_on).toBeUndefined();
    expect(Object.keys(serve?.environment ?? {})).toEqual(['CLERK_DATA_DIR']);
    // The Temporal UI keeps 8080.
    expect(project.services['temporal-ui']?.ports?.map((p) => p.published)).toEqual(['8080']);
  });

  it('rejects depends_on an undefined service', () => {
    const run = validate(brokenCopy('undefined-service', /^ {4}clerk-migrate:$/m, '    clerk-migrat:'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/depends on undefined service "clerk-migrat"/);
  });

  it('rejects a misspelt key', () => {
    const run = validate(brokenCopy('misspelt-key', /^ {4}restart: unless-stopped$/m, '    restat: unless-stopped'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/services\.postgres\.restat/);
  });

  it('rejects an undefined volume', () => {
    const run = validate(brokenCopy('undefined-volume', /^ {2}clerk-data:$/m, '  clerk-dat:'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refers to undefined volume clerk-data/);
  });

  it('rejects a bad depends_on condition', () => {
    const run = validate(brokenCopy('bad-condition', 'condition: service_healthy', 'condition: service_ready'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/condition value must be one of/);
  });
});
