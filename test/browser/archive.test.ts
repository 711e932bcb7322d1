import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { ALAMEDA, buildDeployFolder, HALIFAX, OCR_ONLY_WORD, type FixtureDeploy } from './fixture-archives.js';

/**
 * `clerk serve` in real headless Chromium (Debian's package, driven by playwright-core: no browser
 * download). Each test searches as a person would, opens a result, checks what the page shows,
 * and saves a screenshot of every page type under test-output/screenshots/.
 */

const SCREENSHOTS = path.resolve('test-output', 'screenshots');

let deploy: FixtureDeploy;
let server: RunningServer;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  const executablePath = findChromium();
  deploy = await buildDeployFolder();
  server = await startServer({ deployDir: deploy.deployDir, host: '127.0.0.1', port: 0 });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  // A fresh profile per run: nothing from a previous run (cookies, cache) can make a test pass.
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  deploy?.remove();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

function findChromium(): string {
  const candidates = [process.env.CLERK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      candidates.push(execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim());
    } catch {
      // not on PATH
    }
  }
  const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
  if (!found) {
    throw new Error("the browser tests need Chromium: install Debian's package (sudo apt-get install chromium), or set CLERK_CHROMIUM to a Chromium binary");
  }
  return found;
}

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  const response = await page.goto(`${server.url}${url}`);
  expect(response?.status()).toBe(200);
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function search(page: Page, query: string): Promise<void> {
  await page.getByTestId('q').fill(query);
  await Promise.all([page.waitForURL(/search\?/), page.getByTestId('search-button').click()]);
}

const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();

describe('clerk serve in Chromium', () => {
  it('lists the sites, searches one, and shows a page with its entities and votes', async () => {
    const page = await open('/');
    expect(await page.getByTestId('site').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-site')))).toEqual([ALAMEDA, HALIFAX]);
    await screenshot(page, 'sites-list');

    await Promise.all([page.waitForURL(/\/sites\/alameda\.ca$/), page.getByRole('link', { name: 'City of Alameda' }).click()]);
    await screenshot(page, 'site');
    await search(page, '"bicycle lanes"');
    expect(await page.getByTestId('total').textContent()).toMatch(/2 pages match/);
    expect(await texts(page, '[data-testid=hit] mark')).toContain('bicycle lanes');
    await screenshot(page, 'search-results');

    await Promise.all([page.waitForURL(/\/pages\//), page.getByTestId('hit-link').filter({ hasText: 'minutes page 1' }).click()]);
    expect(await texts(page, '[data-testid=persons] li')).toEqual(['Maria Ortiz', 'John Chen', 'Ana Vasquez']);
    expect(await texts(page, '[data-testid=orgs] li')).toEqual(['Alameda Transit Authority']);
    expect(await texts(page, '[data-testid=locations] li')).toEqual(['Park Street']);
    const vote = page.getByTestId('vote');
    expect(await vote.getByTestId('motion').textContent()).toBe('to approve the protected bicycle lanes on Park Street');
    expect(await vote.getByTestId('mover').textContent()).toBe('Maria Ortiz');
    expect(await vote.getByTestId('seconder').textContent()).toBe('John Chen');
    expect(await vote.getByTestId('result').textContent()).toBe('passed');
    expect(await vote.getByTestId('tally').textContent()).toBe('(2 ayes, 1 nays, 0 abstaining, 0 absent)');
    expect(await vote.getByTestId('member-vote').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent).join(' ')))).toEqual([
      'Maria Ortiz aye',
      'John Chen aye',
      'Ana Vasquez nay',
    ]);
    expect(await page.getByTestId('source-link').getAttribute('href')).toBe('https://alameda.example/minutes/2026-01-05.pdf#page=1');
    await screenshot(page, 'page');

    await Promise.all([page.waitForURL(/\/meetings\//), page.getByTestId('meeting-link').click()]);
    expect(await page.getByTestId('document').evaluateAll((docs) => docs.map((d) => d.getAttribute('data-kind')))).toEqual(['agenda', 'minutes']);
    expect(await page.locator('[data-kind=minutes] [data-testid=meeting-page] > a').allTextContents()).toEqual(['page 1', 'page 2', 'page 3']);
    await screenshot(page, 'meeting');
    await page.close();
  });

  it("finds the word only OCR could read, marks the page's low confidence, and shows a person's votes", async () => {
    const page = await open(`/sites/${ALAMEDA}`);
    await search(page, OCR_ONLY_WORD);
    expect(await page.getByTestId('hit').count()).toBe(1);
    await Promise.all([page.waitForURL(/\/pages\//), page.getByTestId('hit-link').click()]);
    expect(await page.getByTestId('low-confidence').textContent()).toMatch(/low confidence/);
    expect(await texts(page, '[data-testid=locations] li')).toEqual(['Alameda Harbor']);
    expect(await page.getByTestId('page-text').textContent()).toContain(OCR_ONLY_WORD);
    await screenshot(page, 'page-low-confidence');

    // from the previous page's vote to the person who moved it
    await Promise.all([page.waitForURL(/\/pages\//), page.getByTestId('prev').click()]);
    await Promise.all([page.waitForURL(/\/pages\//), page.getByTestId('prev').click()]);
    await Promise.all([page.waitForURL(/\/people\//), page.getByTestId('mover').getByRole('link').click()]);
    expect(await page.getByTestId('person-name').textContent()).toBe('Maria Ortiz');
    expect(await texts(page, '[data-testid=person-vote] [data-testid=part]')).toEqual(['moved, voted aye']);
    expect(await page.getByTestId('person-meeting').count()).toBe(1);
    await screenshot(page, 'person');
    await page.close();
  });

  it('searches across sites and opens a result of the other site', async () => {
    const page = await open('/');
    await search(page, 'ferry');
    expect(page.url()).toBe(`${server.url}/search?q=ferry&body=&from=&to=&kind=`);
    expect(await page.getByTestId('total').textContent()).toMatch(/5 pages match/);
    const sites = await page.getByTestId('hit').evaluateAll((hits) => hits.map((hit) => hit.getAttribute('data-site')));
    expect(new Set(sites)).toEqual(new Set([ALAMEDA, HALIFAX]));
    await screenshot(page, 'cross-site-search');

    await Promise.all([page.waitForURL(/halifax\.ns\/pages\//), page.locator(`[data-site="${HALIFAX}"] [data-testid=hit-link]`).click()]);
    expect(await texts(page, '[data-testid=persons] li')).toEqual(['Pam Lovelace']);
    expect(await texts(page, '[data-testid=orgs] li')).toEqual(['Halifax Transit']);
    expect(await texts(page, '[data-testid=locations] li')).toEqual(['Dartmouth']);
    expect(await page.getByTestId('votes').textContent()).toMatch(/No vote on this page/);
    await page.close();
  });

  it('explains a query it cannot read, keeps it in the box, and narrows results by filters', async () => {
    const page = await open(`/sites/${ALAMEDA}`);
    await page.getByTestId('q').fill('NEAR( "x" OR');
    const [response] = await Promise.all([page.waitForResponse(/\/search\?/), page.getByTestId('search-button').click()]);
    expect(response.status()).toBe(400);
    await page.waitForLoadState();
    expect(await page.getByTestId('problem').textContent()).toMatch(/the query could not be read/);
    expect(await page.getByTestId('q').inputValue()).toBe('NEAR( "x" OR');
    await screenshot(page, 'query-error');

    await page.goto(`${server.url}/sites/${ALAMEDA}/search`);
    await page.getByTestId('q').fill('ferry');
    await page.getByTestId('kind').selectOption('agenda');
    await search(page, 'ferry');
    expect(await page.getByTestId('hit').count()).toBe(1);
    expect(await texts(page, '[data-testid=hit-link]')).toEqual(['CityCouncil 2026-01-05, agenda page 1']);
    await page.close();
  });
});
