import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployEventBody, DeployHookError, runDeployHook, signatureOf, type DeployEventBody, type DeployHookConfig } from '../../src/deploy/hook.js';
import type { DeploymentManifest } from '../../src/deploy/layout.js';

const manifest: DeploymentManifest = {
  subdomain: 'alameda.ca',
  version: 7,
  variant: 'full',
  sha256: 'ab'.repeat(32),
  byteSize: 4096,
  pages: 120,
  entities: 340,
  votes: 12,
  publishedAt: '2026-12-03T10:00:00.000Z',
  runId: 'run-a',
};
const archivePath = '/srv/clerk/deploy/alameda.ca/versions/7/meetings.db';
const body = deployEventBody('publish', manifest, archivePath);

/** Tests wait milliseconds between attempts, not seconds. */
const fast = { timeoutMs: 5_000, attempts: 4, retryBaseMs: 10 } satisfies Partial<DeployHookConfig>;

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];

/** A local HTTP server that records every request and answers with the statuses given, in turn (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text });
      const status = statuses[Math.min(received.length, statuses.length) - 1]!;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'storage backend unavailable' : 'ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/clerk?token=s3cret`, received };
}

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

describe('the webhook target', () => {
  it('POSTs the event as JSON, signed with the shared secret', async () => {
    const target = await receiver([204]);
    const outcome = await runDeployHook({ ...fast, webhookUrl: target.url, webhookSecret: 'shared-secret', publicUrl: 'https://archives.example.org/clerk/' }, deployEventBody('publish', manifest, archivePath, 'https://archives.example.org/clerk/'));

    expect(outcome).toEqual({ status: 'ok', targets: [expect.stringContaining('webhook http://127.0.0.1:')] });
    expect(target.received).toHaveLength(1);
    const [request] = target.received;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks/clerk?token=s3cret' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-clerk-event']).toBe('publish');
    expect(request!.headers['x-clerk-signature']).toBe(signatureOf(request!.body, 'shared-secret'));
    expect(request!.headers['x-clerk-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(request!.body)).toEqual({
      event: 'publish',
      site: 'alameda.ca',
      version: 7,
      variant: 'full',
      sha256: manifest.sha256,
      path: archivePath,
      url: 'https://archives.example.org/clerk/alameda.ca/versions/7/meetings.db',
      pages: 120,
      entities: 340,
      votes: 12,
      publishedAt: '2026-12-03T10:00:00.000Z',
    });
  });

  it('sends no signature without a secret, and no url without a public base URL', async () => {
    const target = await receiver([200]);
    await runDeployHook({ ...fast, webhookUrl: target.url }, body);
    expect(target.received[0]!.headers['x-clerk-signature']).toBeUndefined();
    expect(JSON.parse(target.received[0]!.body)).not.toHaveProperty('url');
  });

  it('retries a target that fails, and succeeds when it recovers', async () => {
    const target = await receiver([500, 500, 200]);
    expect(await runDeployHook({ ...fast, webhookUrl: target.url }, body)).toMatchObject({ status: 'ok' });
    expect(target.received).toHaveLength(3);
    expect(new Set(target.received.map((r) => r.body)).size).toBe(1);
  });

  it('fails after the last attempt, naming the target (without its query) and its last answer', async () => {
    const target = await receiver([503]);
    const failure = await runDeployHook({ ...fast, webhookUrl: target.url }, body).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DeployHookError);
    expect(target.received).toHaveLength(4);
    const { message, attempts, lastError } = failure as DeployHookError;
    expect(attempts).toBe(4);
    expect(lastError).toBe('answered HTTP 503: storage backend unavailable');
    expect(message).toMatch(/^deploy hook webhook http:\/\/127\.0\.0\.1:\d+\/hooks\/clerk failed after 4 attempts: answered HTTP 503: storage backend unavailable$/);
    expect(message).not.toContain('s3cret');
  });

  it('counts a target nobody listens on as a failure', async () => {
    const closed = await receiver([200]);
    const url = closed.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await expect(runDeployHook({ ...fast, attempts: 2, webhookUrl: url }, body)).rejects.toThrow(/failed after 2 attempts: ECONNREFUSED/);
  });

  it('does nothing when no target is configured', async () => {
    expect(await runDeployHook({ ...fast }, body)).toEqual({ status: 'none' });
  });
});

/** Alive and not a zombie waiting to be reaped (in a container, pid 1 may never reap it). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe('the command target', () => {
  const folder = () => fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-hook-'));

  it('runs the command with the event in CLERK_DEPLOY_* variables and the JSON body on stdin', async () => {
    const out = folder();
    const command = `env | grep '^CLERK_DEPLOY_' | sort > '${out}/env.txt'; cat > '${out}/stdin.json'`;
    const rollback: DeployEventBody = { ...body, event: 'rollback', url: 'https://archives.example.org/alameda.ca/versions/7/meetings.db' };

    expect(await runDeployHook({ ...fast, command }, rollback)).toEqual({ status: 'ok', targets: [`command "${command}"`] });

    expect(fs.readFileSync(path.join(out, 'env.txt'), 'utf8').trim().split('\n')).toEqual([
      `CLERK_DEPLOY_EVENT=rollback`,
      `CLERK_DEPLOY_PATH=${archivePath}`,
      `CLERK_DEPLOY_SHA256=${manifest.sha256}`,
      `CLERK_DEPLOY_SITE=alameda.ca`,
      `CLERK_DEPLOY_URL=https://archives.example.org/alameda.ca/versions/7/meetings.db`,
      `CLERK_DEPLOY_VARIANT=full`,
      `CLERK_DEPLOY_VERSION=7`,
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'stdin.json'), 'utf8'))).toEqual(rollback);
  });

  it('retries a command that exits non-zero, and reports the tail of its stderr after the last attempt', async () => {
    const out = folder();
    const command = `echo attempt >> '${out}/attempts'; echo "rsync: connection refused" >&2; exit 23`;
    await expect(runDeployHook({ ...fast, attempts: 3, command }, body)).rejects.toThrow(`deploy hook command "${command}" failed after 3 attempts: exited with code 23: rsync: connection refused`);
    expect(fs.readFileSync(path.join(out, 'attempts'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('kills a command that outlives its timeout, with whatever it started', async () => {
    const out = folder();
    const command = `sleep 30 & echo $! > '${out}/child.pid'; wait`;
    await expect(runDeployHook({ ...fast, attempts: 1, timeoutMs: 300, command }, body)).rejects.toThrow(/failed after 1 attempt: timed out after 300 ms/);
    const child = Number(fs.readFileSync(path.join(out, 'child.pid'), 'utf8'));
    // SIGKILL is delivered at once, but the kernel may take a moment to finish the process off.
    while (isRunning(child)) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(isRunning(child)).toBe(false);
  });

  it('runs the command first, then the webhook, when both are configured', async () => {
    const out = folder();
    const target = await receiver([200]);
    const outcome = await runDeployHook({ ...fast, command: `date +%s%N > '${out}/ran'`, webhookUrl: target.url }, body);
    expect(outcome).toMatchObject({ status: 'ok', targets: [expect.stringMatching(/^command /), expect.stringMatching(/^webhook /)] });
    expect(fs.existsSync(path.join(out, 'ran'))).toBe(true);
    expect(target.received).toHaveLength(1);
  });
});
