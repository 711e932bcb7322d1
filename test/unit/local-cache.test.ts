import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCache } from '../../src/storage/local-cache.js';

describe('LocalCache', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-cache-test-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fill that writes `bytes` bytes and counts how often it ran. */
  function filler(bytes: number) {
    const fill = async (temporaryPath: string) => {
      fill.calls += 1;
      await fs.promises.writeFile(temporaryPath, Buffer.alloc(bytes, 7));
    };
    fill.calls = 0;
    return fill;
  }

  /** Pretends the entry was last used `ageMs` ago. */
  function age(filePath: string, ageMs: number) {
    const then = new Date(Date.now() - ageMs);
    fs.utimesSync(filePath, then, then);
  }

  it('downloads once and then hands out the cached file, keeping its name', async () => {
    const cache = new LocalCache(dir, 1_000);
    const fill = filler(10);
    const first = await cache.path('a@1', 'council.pdf', fill);
    const second = await cache.path('a@1', 'council.pdf', fill);
    expect(second).toBe(first);
    expect(path.basename(first)).toBe('council.pdf');
    expect(fs.readFileSync(first)).toHaveLength(10);
    expect(fill.calls).toBe(1);
  });

  it('treats another version of an object as another entry', async () => {
    const cache = new LocalCache(dir, 1_000);
    const first = await cache.path('a@1', 'council.pdf', filler(10));
    const second = await cache.path('a@2', 'council.pdf', filler(20));
    expect(second).not.toBe(first);
    expect(fs.statSync(second).size).toBe(20);
  });

  it('runs one download for concurrent callers of the same entry', async () => {
    const cache = new LocalCache(dir, 1_000);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slowFill = async (temporaryPath: string) => {
      calls += 1;
      await gate;
      await fs.promises.writeFile(temporaryPath, 'pdf');
    };
    const waiting = Promise.all([1, 2, 3, 4].map(() => cache.path('a@1', 'a.pdf', slowFill)));
    release();
    const paths = await waiting;
    expect(new Set(paths).size).toBe(1);
    expect(calls).toBe(1);
  });

  it('evicts the least recently used entries until it fits its budget, never one in use', async () => {
    const cache = new LocalCache(dir, 250, { inUseMs: 60_000 });
    const oldest = await cache.path('oldest', 'a.pdf', filler(100));
    const older = await cache.path('older', 'b.pdf', filler(100));
    age(oldest, 3 * 3_600_000);
    age(older, 2 * 3_600_000);
    // Used a moment ago: over budget with it, yet kept.
    const recent = await cache.path('recent', 'c.pdf', filler(100));
    await cache.path('newest', 'd.pdf', filler(100));
    expect(fs.existsSync(oldest)).toBe(false);
    expect(fs.existsSync(older)).toBe(false);
    expect(fs.existsSync(recent)).toBe(true);
    expect(await cache.size()).toBe(200);
  });

  it('counts a hit as a use: a re-used old entry outlives a newer unused one', async () => {
    const cache = new LocalCache(dir, 250, { inUseMs: 1_000 });
    const reused = await cache.path('reused', 'a.pdf', filler(100));
    const unused = await cache.path('unused', 'b.pdf', filler(100));
    age(reused, 3 * 3_600_000);
    age(unused, 2 * 3_600_000);
    await cache.path('reused', 'a.pdf', filler(100));
    age(reused, 10_000);
    await cache.path('third', 'c.pdf', filler(100));
    expect(fs.existsSync(reused)).toBe(true);
    expect(fs.existsSync(unused)).toBe(false);
  });

  it('goes over its budget rather than evicting files in use', async () => {
    const cache = new LocalCache(dir, 50, { inUseMs: 60_000 });
    const a = await cache.path('a', 'a.pdf', filler(100));
    const b = await cache.path('b', 'b.pdf', filler(100));
    expect(fs.existsSync(a) && fs.existsSync(b)).toBe(true);
    expect(await cache.size()).toBe(200);
  });

  it('adopts an uploaded file instead of downloading it again', async () => {
    const cache = new LocalCache(dir, 1_000);
    const source = path.join(dir, 'download.tmp');
    fs.writeFileSync(source, 'fetched');
    const adopted = await cache.adopt('a@1', 'council.pdf', source);
    expect(fs.existsSync(source)).toBe(false);
    const fill = filler(1);
    expect(await cache.path('a@1', 'council.pdf', fill)).toBe(adopted);
    expect(fill.calls).toBe(0);
    expect(fs.readFileSync(adopted, 'utf8')).toBe('fetched');
  });

  it('leaves nothing behind when a download fails, and tries again next time', async () => {
    const cache = new LocalCache(dir, 1_000);
    const failing = async (temporaryPath: string) => {
      await fs.promises.writeFile(temporaryPath, 'half');
      throw new Error('connection reset');
    };
    await expect(cache.path('a@1', 'a.pdf', failing)).rejects.toThrow('connection reset');
    expect(await cache.size()).toBe(0);
    expect(fs.readdirSync(path.join(dir, '.incoming'))).toEqual([]);
    const fill = filler(5);
    await cache.path('a@1', 'a.pdf', fill);
    expect(fill.calls).toBe(1);
  });
});
