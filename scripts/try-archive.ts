/**
 * Tries the archive the way a new user would after the README's demo (`npm run demo`), through the
 * CLI and a real browser only:
 *
 *   clerk serve --port P                      (a child process, as a user starts it)
 *   the word only OCR of the scanned sample page can read, through the JSON API and in Chromium
 *   that page's persons, organisations and votes; a cross-site search; the site's Atom feed
 *   clerk deploy rollback alameda.ca          (the server shows the previous version, no restart)
 *   clerk deploy rollback alameda.ca --to N   (and back)
 *
 * Screenshots go to $CLERK_DATA_DIR/screenshots/. Exit code 1 when any step does not hold. Used by
 * .ci/run as a smoke test; see README "Searching the archive".
 *
 *   npx tsx scripts/try-archive.ts [--port 8795]
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config/index.js';
import { OCR_ONLY_WORD } from '../src/samples/sample-site.js';

const SITE = 'alameda.ca';
const run = promisify(execFile);
const clerk = path.resolve(import.meta.dirname, '..', 'bin', 'clerk.mjs');
const portFlag = process.argv.indexOf('--port');
const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : 8795;
const config = loadConfig();
const screenshots = path.join(config.dataDir, 'screenshots');

interface SiteSummary {
  subdomain: string;
  version: number | null;
  variant: string | null;
}
interface SearchAnswer {
  total: number;
  hits: { site: string; id: string; kind: string; date: string; snippetHtml: string; url: string }[];
}
interface PageAnswer {
  id: string;
  entities: { persons: string[]; orgs: string[]; locations: string[] };
  votes: { motion_by: string | null; result: string; individual_votes: { name: string; vote: string }[] }[];
  sourcePageUrl: string | null;
}

const failures: string[] = [];
function check(what: string, ok: boolean, detail = ''): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures.push(what);
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, [clerk, 'serve', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /https?:\/\/\S+/.exec(out)?.[0];
      if (url) resolve(url.replace(/\/$/, ''));
    });
    server.once('exit', (code) => reject(new Error(`clerk serve exited with code ${code} before it listened`)));
  });
  console.log(`clerk serve is at ${base}`);
  const getJson = async <T>(route: string): Promise<T> => {
    const response = await fetch(`${base}${route}`);
    if (!response.ok) throw new Error(`GET ${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  try {
    const { sites } = await getJson<{ sites: SiteSummary[] }>('/api/sites');
    const before = sites.find((s) => s.subdomain === SITE);
    check(`${SITE} is served`, before !== undefined, before ? `version ${before.version}, ${before.variant}` : sites.map((s) => s.subdomain).join(', '));

    const search = await getJson<SearchAnswer>(`/api/sites/${SITE}/search?q=${OCR_ONLY_WORD}`);
    const hit = search.hits[0];
    check(`the API finds ${OCR_ONLY_WORD}, a word only OCR of the scanned page reads`, hit !== undefined && hit.snippetHtml.includes(`<mark>${OCR_ONLY_WORD}</mark>`), `${search.total} hit(s)`);
    if (!hit) throw new Error('nothing more to check without the hit');

    const page = await getJson<PageAnswer>(`/api/sites/${SITE}/pages/${hit.id}`);
    check('that page has persons', page.entities.persons.length > 0, page.entities.persons.join(', '));
    check('that page has a vote with a mover and each member’s vote', page.votes.some((v) => v.motion_by && v.individual_votes.length > 0), `${page.votes.length} vote(s)`);
    check('that page links to its source PDF at the page', page.sourcePageUrl?.includes('#page=') === true, page.sourcePageUrl ?? 'none');

    const across = await getJson<SearchAnswer>(`/api/search?q=${OCR_ONLY_WORD}`);
    check('a cross-site search finds it too', across.hits.some((h) => h.site === SITE && h.id === hit.id), `${across.total} hit(s)`);

    const feed = await fetch(`${base}/sites/${SITE}/feed.atom`);
    const feedXml = await feed.text();
    check('the site has an Atom feed of its meetings', feed.ok && feed.headers.get('content-type')?.includes('atom') === true && feedXml.includes('<entry>'), `${(feedXml.match(/<entry>/g) ?? []).length} entries`);
    const saved = await fetch(`${base}/sites/${SITE}/search.atom?q=${OCR_ONLY_WORD}`);
    check('a saved search is a feed', saved.ok && (await saved.text()).includes('<entry>'));

    await inTheBrowser(base, hit.url, page.entities.persons);

    // Roll back to the fast path's early version: the running server shows it on the next request.
    const current = before?.version ?? 0;
    const rollback = await run(process.execPath, [clerk, 'deploy', 'rollback', SITE, '--json']);
    console.log(rollback.stdout.trim());
    const rolledBack = (await getJson<{ sites: SiteSummary[] }>('/api/sites')).sites.find((s) => s.subdomain === SITE);
    check('after clerk deploy rollback the server shows the previous version, without a restart', rolledBack?.version === current - 1, `version ${rolledBack?.version} (${rolledBack?.variant}), was ${current}`);
    const afterRollback = await getJson<SearchAnswer>(`/api/sites/${SITE}/search?q=${OCR_ONLY_WORD}`);
    check(`the previous version finds ${OCR_ONLY_WORD} too`, afterRollback.total > 0);

    await run(process.execPath, [clerk, 'deploy', 'rollback', SITE, '--to', String(current)]);
    const restored = (await getJson<{ sites: SiteSummary[] }>('/api/sites')).sites.find((s) => s.subdomain === SITE);
    check('rolling forward again restores the full version', restored?.version === current, `version ${restored?.version} (${restored?.variant})`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
}

/** The same search as a person makes it: the search box, the result, the page with its entities and votes. */
async function inTheBrowser(base: string, pageUrl: string, expectedPersons: string[]): Promise<void> {
  const executablePath = [process.env.CLERK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && fs.existsSync(p));
  if (!executablePath) {
    check('Chromium is installed (Debian package chromium)', false);
    return;
  }
  fs.mkdirSync(screenshots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(config.dataDir, 'chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(`${base}/sites/${SITE}`);
    await tab.fill('input[name="q"]', OCR_ONLY_WORD);
    await Promise.all([tab.waitForURL(/search/), tab.press('input[name="q"]', 'Enter')]);
    const marked = await tab.locator('mark', { hasText: OCR_ONLY_WORD }).count();
    check(`the browser's search shows ${OCR_ONLY_WORD} highlighted`, marked > 0, `${marked} mark(s)`);
    await tab.screenshot({ path: path.join(screenshots, 'demo-search.png'), fullPage: true });
    await tab.goto(`${base}${pageUrl}`);
    const persons = await tab.locator('[data-testid="persons"]').innerText();
    const votes = await tab.locator('[data-testid="vote"]').count();
    check('the page view shows its persons and votes', expectedPersons.every((name) => persons.includes(name)) && votes > 0, `${persons.replace(/\s+/g, ' ')}; ${votes} vote(s)`);
    await tab.screenshot({ path: path.join(screenshots, 'demo-page.png'), fullPage: true });
    console.log(`screenshots: ${screenshots}/demo-search.png, demo-page.png`);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => {
    if (failures.length > 0) {
      console.error(`${failures.length} check(s) failed: ${failures.join('; ')}`);
      process.exit(1);
    }
    console.log('the archive holds up');
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
