import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { load } from 'cheerio';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenError, startServer, type RunningServer } from '../../src/serve/index.js';
import {
  agendaPage,
  ALAMEDA,
  buildDeployFolder,
  councilPages,
  HALIFAX,
  OCR_ONLY_WORD,
  pageId,
  planningPage,
  scannedPage,
  type FixtureDeploy,
} from '../browser/fixture-archives.js';

let deploy: FixtureDeploy;
let server: RunningServer;

beforeAll(async () => {
  deploy = await buildDeployFolder();
  server = await startServer({ deployDir: deploy.deployDir, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  deploy?.remove();
});

async function get(pathAndQuery: string): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(`${server.url}${pathAndQuery}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
}

/** A GET with the path exactly as written, dot segments and all. */
function rawGet(pathAndQuery: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path: pathAndQuery }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function json<T = any>(pathAndQuery: string, status = 200): Promise<T> {
  const response = await get(pathAndQuery);
  expect(response.type, pathAndQuery).toMatch(/^application\/json/);
  expect(response.status, `${pathAndQuery}: ${response.body}`).toBe(status);
  return JSON.parse(response.body) as T;
}

async function page(pathAndQuery: string, status = 200) {
  const response = await get(pathAndQuery);
  expect(response.type, pathAndQuery).toMatch(/^text\/html/);
  expect(response.status, pathAndQuery).toBe(status);
  return { $: load(response.body), body: response.body };
}

function atom(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  const feed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'entry' || name === 'link' }).parse(xml).feed;
  return { feed, entries: (feed.entry ?? []) as any[] };
}

const councilMinutes1 = pageId(councilPages[0]!);

describe('the JSON API', () => {
  it('lists the deployed sites with their counts, version and variant, and nothing else in the folder', async () => {
    const { sites } = await json('/api/sites');
    expect(sites.map((s: any) => s.subdomain)).toEqual([ALAMEDA, HALIFAX]);
    expect(sites[0]).toMatchObject({
      name: 'City of Alameda',
      pages: 30,
      minutesPages: 29,
      agendaPages: 1,
      meetings: 3,
      documents: 4,
      version: 2,
      variant: 'full',
      lastUpdate: '2026-03-02T10:00:00.000Z',
      lowConfidencePages: 1,
      url: '/sites/alameda.ca',
    });
    // the older layout: a plain meetings.db, no deployment.json
    expect(sites[1]).toMatchObject({ name: 'Halifax Regional Municipality', pages: 1, version: null, variant: 'full' });
  });

  it("gives a site's meeting bodies, recent meetings and the people its pages name", async () => {
    const overview = await json(`/api/sites/${ALAMEDA}`);
    expect(overview.bodies).toEqual([
      { meeting: 'Budget Workshop', meetings: 1, lastDate: '2025-11-03' },
      { meeting: 'CityCouncil', meetings: 1, lastDate: '2026-01-05' },
      { meeting: 'Planning Board', meetings: 1, lastDate: '2026-02-10' },
    ]);
    expect(overview.recentMeetings.map((m: any) => [m.date, m.meeting, m.kinds])).toEqual([
      ['2026-02-10', 'Planning Board', ['minutes']],
      ['2026-01-05', 'CityCouncil', ['agenda', 'minutes']],
      ['2025-11-03', 'Budget Workshop', ['minutes']],
    ]);
    expect(overview.people).toContainEqual({ name: 'Ana Vasquez', pages: 2, meetings: 2, votes: 1, url: '/sites/alameda.ca/people/Ana%20Vasquez' });
  });

  it('searches one site, best match first, with highlighted snippets', async () => {
    const results = await json(`/api/sites/${ALAMEDA}/search?q=ferry`);
    expect(results).toMatchObject({ total: 4, page: 1, perPage: 20, pageCount: 1 });
    expect(results.hits.map((h: any) => h.id).sort()).toEqual([councilMinutes1, pageId(councilPages[1]!), pageId(agendaPage), pageId(planningPage)].sort());
    const agenda = results.hits.find((h: any) => h.kind === 'agenda');
    expect(agenda).toMatchObject({
      site: ALAMEDA,
      meeting: 'CityCouncil',
      date: '2026-01-05',
      page: 1,
      snippet: 'Item 4: ferry terminal parking study. Item 5: bicycle lanes on Park Street.',
      snippetHtml: 'Item 4: <mark>ferry</mark> terminal parking study. Item 5: bicycle lanes on Park Street.',
      url: `/sites/alameda.ca/pages/${pageId(agendaPage)}`,
    });
    // each hit's snippet is its own page's text
    for (const hit of results.hits) expect(hit.snippet.replace(/…/g, '')).toSatisfy((s: string) => [councilPages[0], councilPages[1], agendaPage, planningPage].some((p) => p!.text.includes(s)));
  });

  it('reads the FTS5 query language: phrases, OR, NOT, prefixes', async () => {
    const count = async (q: string) => (await json(`/api/sites/${ALAMEDA}/search?q=${encodeURIComponent(q)}`)).total;
    expect(await count('"ferry terminal"')).toBe(3);
    expect(await count('ferry NOT terminal')).toBe(1);
    expect(await count('dredging OR ridership')).toBe(2);
    expect(await count('bicyc*')).toBe(2);
    expect(await count('ferries')).toBe(4); // porter stemming
  });

  it('filters by meeting body, kind and date range', async () => {
    const ids = async (query: string) => (await json(`/api/sites/${ALAMEDA}/search?q=ferry&${query}`)).hits.map((h: any) => h.id);
    expect(await ids('kind=agenda')).toEqual([pageId(agendaPage)]);
    expect(await ids('body=Planning%20Board')).toEqual([pageId(planningPage)]);
    expect(await ids('from=2026-02-01')).toEqual([pageId(planningPage)]);
    expect((await ids('to=2026-01-31')).sort()).toEqual([councilMinutes1, pageId(councilPages[1]!), pageId(agendaPage)].sort());
    expect(await ids('from=2026-01-06&to=2026-02-09')).toEqual([]);
    expect(await ids('kind=minutes&body=CityCouncil&from=2026-01-05&to=2026-01-05')).toHaveLength(2);
  });

  it('pages results 20 at a time with the total, without repeating a hit', async () => {
    const first = await json(`/api/sites/${ALAMEDA}/search?q=budget`);
    const second = await json(`/api/sites/${ALAMEDA}/search?q=budget&page=2`);
    expect([first.total, first.pageCount, first.hits.length, second.hits.length]).toEqual([25, 2, 20, 5]);
    expect(new Set([...first.hits, ...second.hits].map((h: any) => h.id)).size).toBe(25);
    expect((await json(`/api/sites/${ALAMEDA}/search?q=budget&page=3`)).hits).toEqual([]);
  });

  it('searches across every site', async () => {
    const results = await json('/api/search?q=ferry');
    expect(results.total).toBe(5);
    expect(results.hits.map((h: any) => h.site).sort()).toEqual([ALAMEDA, ALAMEDA, ALAMEDA, ALAMEDA, HALIFAX]);
    const halifax = results.hits.find((h: any) => h.site === HALIFAX);
    expect(halifax).toMatchObject({ meeting: 'Regional Council', snippetHtml: 'Regional Council discussed the Dartmouth <mark>ferry</mark> schedule and a harbour study.' });
    expect((await json('/api/search?q=ferry&body=Regional%20Council')).hits.map((h: any) => h.site)).toEqual([HALIFAX]);
    expect((await json('/api/search?q=harbour')).hits.map((h: any) => h.site)).toEqual([HALIFAX]);
  });

  it("gives a page's text, entities, votes, OCR confidence, source link and neighbours", async () => {
    const view = await json(`/api/sites/${ALAMEDA}/pages/${councilMinutes1}`);
    expect(view).toMatchObject({
      site: ALAMEDA,
      kind: 'minutes',
      meeting: 'CityCouncil',
      date: '2026-01-05',
      page: 1,
      text: councilPages[0]!.text,
      ocrConfidence: null,
      lowConfidence: false,
      extracted: true,
      entities: { persons: ['Maria Ortiz', 'John Chen', 'Ana Vasquez'], orgs: ['Alameda Transit Authority'], locations: ['Park Street'] },
      sourcePageUrl: 'https://alameda.example/minutes/2026-01-05.pdf#page=1',
      prev: null,
      next: { id: pageId(councilPages[1]!), page: 2 },
      meetingUrl: '/sites/alameda.ca/meetings/CityCouncil/2026-01-05',
    });
    expect(view.votes).toEqual([
      {
        motion: 'to approve the protected bicycle lanes on Park Street',
        motion_by: 'Maria Ortiz',
        seconded_by: 'John Chen',
        result: 'passed',
        tally: { ayes: 2, nays: 1, abstain: 0, absent: 0 },
        individual_votes: [
          { name: 'Maria Ortiz', vote: 'aye' },
          { name: 'John Chen', vote: 'aye' },
          { name: 'Ana Vasquez', vote: 'nay' },
        ],
        page: 1,
      },
    ]);
    const scanned = await json(`/api/sites/${ALAMEDA}/pages/${pageId(scannedPage)}`);
    expect(scanned).toMatchObject({ ocrConfidence: 41.5, lowConfidence: true, prev: { page: 2 }, next: null });
  });

  it("gives a meeting's documents, agenda first, and their pages in order", async () => {
    const meeting = await json(`/api/sites/${ALAMEDA}/meetings/CityCouncil/2026-01-05`);
    expect(meeting.documents.map((d: any) => [d.kind, d.pageCount, d.pages.map((p: any) => p.page)])).toEqual([
      ['agenda', 1, [1]],
      ['minutes', 3, [1, 2, 3]],
    ]);
    expect(meeting.documents[1]).toMatchObject({ sourceUrl: 'https://alameda.example/minutes/2026-01-05.pdf', publishedAt: '2026-01-07T09:00:00.000Z' });
    expect(meeting.documents[1].pages[2]).toMatchObject({ id: pageId(scannedPage), ocrConfidence: 41.5, lowConfidence: true });
    // a meeting name with a space travels percent-encoded
    expect((await json(`/api/sites/${ALAMEDA}/meetings/Planning%20Board/2026-02-10`)).documents).toHaveLength(1);
  });

  it('gives the meetings and votes a person appears in, whatever the letter case', async () => {
    const ortiz = await json(`/api/sites/${ALAMEDA}/people/maria%20ortiz`);
    expect(ortiz).toMatchObject({ name: 'Maria Ortiz', pages: 1, meetingCount: 1, voteCount: 1, page: 1, perPage: 50, pageCount: 1 });
    expect(ortiz.meetings).toEqual([{ meeting: 'CityCouncil', date: '2026-01-05', url: '/sites/alameda.ca/meetings/CityCouncil/2026-01-05', pages: [{ id: councilMinutes1, kind: 'minutes', page: 1, url: `/sites/alameda.ca/pages/${councilMinutes1}` }] }]);
    expect(ortiz.votes).toEqual([
      expect.objectContaining({ motion: 'to approve the protected bicycle lanes on Park Street', result: 'passed', moved: true, seconded: false, vote: 'aye', pageId: councilMinutes1 }),
    ]);
    expect((await json(`/api/sites/${ALAMEDA}/people/John%20Chen`)).votes[0]).toMatchObject({ moved: false, seconded: true, vote: 'aye' });
    const vasquez = await json(`/api/sites/${ALAMEDA}/people/Ana%20Vasquez`);
    expect(vasquez.votes.map((v: any) => v.vote)).toEqual(['nay']);
    expect(vasquez.meetings.map((m: any) => m.meeting)).toEqual(['Planning Board', 'CityCouncil']);
    // a person's meetings come 50 at a time, newest first
    expect((await json(`/api/sites/${ALAMEDA}/people/Ana%20Vasquez?page=2`)).meetings).toEqual([]);
  });

  it('lists pages read with low OCR confidence', async () => {
    const low = await json(`/api/sites/${ALAMEDA}/low-confidence`);
    expect(low).toMatchObject({ threshold: 60, total: 1 });
    expect(low.pages).toEqual([expect.objectContaining({ id: pageId(scannedPage), ocrConfidence: 41.5 })]);
  });
});

describe('hostile and wrong input', () => {
  it('answers an FTS5 syntax error with 400 and a sentence, as JSON and as a page', async () => {
    const error = await json(`/api/sites/${ALAMEDA}/search?q=${encodeURIComponent('NEAR( "x" OR')}`, 400);
    expect(error.error).toMatch(/^the query could not be read: /);
    expect((await json(`/api/search?q=${encodeURIComponent('"unterminated')}`, 400)).error).toMatch(/double quote is not closed/);
    expect((await json(`/api/search?q=${encodeURIComponent('park-street')}`, 400)).error).toMatch(/double quotes/);
    const { $ } = await page(`/sites/${ALAMEDA}/search?q=${encodeURIComponent('NEAR( "x" OR')}`, 400);
    expect($('[data-testid=problem]').text()).toMatch(/could not be read/);
    expect($('input[name=q]').val()).toBe('NEAR( "x" OR');
  });

  it('shows a <script> in the query as text, never as markup', async () => {
    for (const url of [`/sites/${ALAMEDA}/search?q=${encodeURIComponent('<script>alert(1)</script>')}`, `/search?q=${encodeURIComponent('"<script>alert(1)</script>"')}`]) {
      const response = await get(url);
      expect(response.body).not.toContain('<script>alert(1)');
      expect(response.body).toContain('&lt;script&gt;alert(1)');
    }
    // a phrase query reaches the index: the page whose text holds the markup shows it escaped
    const { $, body } = await page(`/sites/${ALAMEDA}/search?q=${encodeURIComponent('"script alert"')}`);
    expect($('[data-testid=hit]')).toHaveLength(1);
    expect(body).not.toContain('<script>alert("x")');
    expect($('[data-testid=snippet]').html()).toContain('&lt;<mark>script&gt;alert</mark>(');
    const pageView = await page(`/sites/${ALAMEDA}/pages/${pageId(councilPages[1]!)}`);
    expect(pageView.$('[data-testid=page-text]').text()).toContain('<script>alert("x")</script>');
    expect(pageView.$('[data-testid=orgs] li').text()).toBe('<b>Bold & Co</b>');
    expect(pageView.body).not.toContain('<b>Bold');
  });

  it('refuses bad filters and page numbers with 400', async () => {
    for (const query of ['from=2026-13-01', 'to=yesterday', 'from=2026-02-30', 'from=2026-03-01&to=2026-01-01', 'kind=memo', 'page=0', 'page=x', 'page=100000']) {
      expect((await json(`/api/sites/${ALAMEDA}/search?q=ferry&${query}`, 400)).error, query).toBeTruthy();
    }
    expect((await json(`/api/sites/${ALAMEDA}/search`, 400)).error).toMatch(/q is required/);
    await page(`/search?q=ferry&from=not-a-date`, 400);
  });

  it('gives 404 for an unknown or malformed site, a path climbing out of the deploy folder, and unknown pages', async () => {
    for (const site of ['nowhere.ca', 'Not_A_Site', 'empty.site', '..%2F..%2Fetc', 'alameda.ca%2F..%2Fhalifax.ns', '%00']) {
      // sent as written: fetch() would change the path before the server saw it
      const api = await rawGet(`/api/sites/${site}/search?q=ferry`);
      expect(api.status, site).toBe(404);
      expect(JSON.parse(api.body).error, site).toMatch(/no site named|nothing at/);
      expect((await rawGet(`/sites/${site}`)).status, site).toBe(404);
    }
    // dot segments, encoded or not, resolve as URLs do, to a path the server has no route for
    expect((await rawGet('/sites/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await rawGet('/sites/../../etc/passwd')).status).toBe(404);
    await json(`/api/sites/${ALAMEDA}/pages/000000000000`, 404);
    await json(`/api/sites/${ALAMEDA}/pages/${encodeURIComponent("' OR 1=1 --")}`, 404);
    await json(`/api/sites/${ALAMEDA}/meetings/CityCouncil/1999-01-01`, 404);
    await json(`/api/sites/${ALAMEDA}/people/Nobody`, 404);
    await json('/api/nothing', 404);
    await page('/sites/alameda.ca/nothing/here', 404);
  });
});

describe('the HTML pages', () => {
  it('list the sites with a cross-site search box', async () => {
    const { $ } = await page('/');
    expect($('[data-testid=site]').map((_, el) => $(el).attr('data-site')).get()).toEqual([ALAMEDA, HALIFAX]);
    expect($('[data-testid=site]').first().text()).toMatch(/City of Alameda[\s\S]*30[\s\S]*3[\s\S]*2 \(full\)/);
    expect($('form[data-testid=search-form]').attr('action')).toBe('/search');
  });

  it("show a site's search box, bodies, recent meetings and its low-confidence pages", async () => {
    const { $ } = await page(`/sites/${ALAMEDA}`);
    expect($('form[data-testid=search-form]').attr('action')).toBe('/sites/alameda.ca/search');
    expect($('[data-testid=bodies] li a').map((_, el) => $(el).text()).get()).toEqual(['Budget Workshop', 'CityCouncil', 'Planning Board']);
    expect($('[data-testid=meeting]')).toHaveLength(3);
    expect($('[data-testid=low-confidence-link]').attr('href')).toBe('/sites/alameda.ca/low-confidence');
    expect($('link[type="application/atom+xml"]').attr('href')).toBe('/sites/alameda.ca/feed.atom');
  });

  it('show search results with marks, the total and paging links that keep the filters', async () => {
    const { $ } = await page(`/sites/${ALAMEDA}/search?q=budget&kind=minutes`);
    expect($('[data-testid=total]').text()).toMatch(/25 pages match, best first; page 1 of 2/);
    expect($('[data-testid=hit]')).toHaveLength(20);
    expect($('[data-testid=snippet] mark').first().text().toLowerCase()).toBe('budget');
    expect($('[data-testid=next-page]').attr('href')).toBe('/sites/alameda.ca/search?q=budget&kind=minutes&page=2');
    expect($('select[name=kind] option[selected]').val()).toBe('minutes');
  });

  it('show a page with its entities, votes and a low-confidence mark', async () => {
    const { $ } = await page(`/sites/${ALAMEDA}/pages/${councilMinutes1}`);
    expect($('[data-testid=persons] li').map((_, el) => $(el).text()).get()).toEqual(['Maria Ortiz', 'John Chen', 'Ana Vasquez']);
    expect($('[data-testid=locations] li').text()).toBe('Park Street');
    const vote = $('[data-testid=vote]');
    expect(vote.find('[data-testid=mover]').text()).toBe('Maria Ortiz');
    expect(vote.find('[data-testid=seconder]').text()).toBe('John Chen');
    expect(vote.find('[data-testid=result]').text()).toBe('passed');
    expect(vote.find('[data-testid=member-vote]').map((_, el) => $(el).find('td').map((_, td) => $(td).text()).get().join(' ')).get()).toEqual(['Maria Ortiz aye', 'John Chen aye', 'Ana Vasquez nay']);
    expect($('[data-testid=source-link]').attr('href')).toBe('https://alameda.example/minutes/2026-01-05.pdf#page=1');
    expect($('[data-testid=low-confidence]')).toHaveLength(0);

    const scanned = await page(`/sites/${ALAMEDA}/pages/${pageId(scannedPage)}`);
    expect(scanned.$('[data-testid=low-confidence]').text()).toMatch(/low confidence/);
    expect(scanned.$('[data-testid=ocr]').text()).toMatch(/confidence 42\/100/);
  });

  it('show a person with their votes and meetings', async () => {
    const { $ } = await page(`/sites/${ALAMEDA}/people/Ana%20Vasquez`);
    expect($('[data-testid=person-name]').text()).toBe('Ana Vasquez');
    expect($('[data-testid=person-vote] [data-testid=part]').text()).toBe('voted nay');
    expect($('[data-testid=person-meeting]')).toHaveLength(2);
  });

  it('carry a Content-Security-Policy that allows no script', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });
});

describe('Atom feeds', () => {
  it("list a site's newly published documents, newest first", async () => {
    const response = await get(`/sites/${ALAMEDA}/feed.atom`);
    expect(response.type).toMatch(/^application\/atom\+xml/);
    const { feed, entries } = atom(response.body);
    expect(feed.title).toBe('City of Alameda: new meetings');
    expect(entries.map((e) => [e.title['#text'] ?? e.title, e.published])).toEqual([
      ['Planning Board, 2026-02-10: Minutes', '2026-02-12T09:00:00.000Z'],
      ['CityCouncil, 2026-01-05: Minutes', '2026-01-07T09:00:00.000Z'],
      ['CityCouncil, 2026-01-05: Agenda', '2026-01-02T09:00:00.000Z'],
      ['Budget Workshop, 2025-11-03: Minutes', '2025-11-05T09:00:00.000Z'],
    ]);
    expect(entries[0].link[0]['@_href']).toBe(`${server.url}/sites/alameda.ca/meetings/Planning%20Board/2026-02-10`);
    expect(feed.updated).toBe('2026-02-12T09:00:00.000Z');
  });

  it('follow a saved search: the matching pages of the newest documents first', async () => {
    const { feed, entries } = atom((await get(`/sites/${ALAMEDA}/search.atom?q=ferry&kind=minutes`)).body);
    expect(feed.title).toBe('City of Alameda: "ferry"');
    const links = entries.map((e) => e.link[0]['@_href'].replace(server.url, ''));
    expect(links[0]).toBe(`/sites/alameda.ca/pages/${pageId(planningPage)}`);
    expect(links.slice(1).sort()).toEqual([councilMinutes1, pageId(councilPages[1]!)].map((id) => `/sites/alameda.ca/pages/${id}`).sort());
    // a page with markup in its text stays well-formed XML and escaped HTML
    const hostile = (await get(`/sites/${ALAMEDA}/search.atom?q=${encodeURIComponent('"script alert"')}`)).body;
    const parsed = atom(hostile);
    expect(parsed.entries).toHaveLength(1);
    expect(parsed.entries[0].summary['#text'] ?? parsed.entries[0].summary).toContain('&lt;<mark>script&gt;alert</mark>(&quot;x&quot;)');
    expect((await get(`/sites/${ALAMEDA}/search.atom?q=${encodeURIComponent('NEAR(')}`)).status).toBe(400);
  });
});

describe('a new deploy or a rollback', () => {
  it('is served on the next request, without a restart', async () => {
    expect((await json(`/api/sites/${ALAMEDA}/search?q=${OCR_ONLY_WORD}`)).total).toBe(1);

    deploy.switchAlameda(1); // clerk deploy rollback: a new `current` renamed over the old
    expect((await json(`/api/sites/${ALAMEDA}/search?q=${OCR_ONLY_WORD}`)).total).toBe(0);
    const rolledBack = (await json('/api/sites')).sites[0];
    expect(rolledBack).toMatchObject({ version: 1, variant: 'fast', pages: 29, lowConfidencePages: 0 });
    // version 1 is the search-only archive: its pages have no entities yet
    expect(await json(`/api/sites/${ALAMEDA}/pages/${councilMinutes1}`)).toMatchObject({ extracted: false, votes: [] });

    deploy.switchAlameda(2);
    expect((await json(`/api/sites/${ALAMEDA}/search?q=${OCR_ONLY_WORD}`)).total).toBe(1);
    expect((await json('/api/sites')).sites[0]).toMatchObject({ version: 2, variant: 'full' });
  });

  it('of the older layout (a meetings.db renamed over the old) is served on the next request too', async () => {
    expect((await json(`/api/sites/${HALIFAX}/search?q=harbour`)).total).toBe(1);
    const file = path.join(deploy.deployDir, HALIFAX, 'meetings.db');
    const next = `${file}.next`;
    const db = new Database(next);
    db.exec(`CREATE TABLE minutes (id TEXT PRIMARY KEY, meeting TEXT NOT NULL, date TEXT NOT NULL, page INTEGER NOT NULL, text TEXT NOT NULL, page_image TEXT, entities_json TEXT, votes_json TEXT);
             CREATE TABLE agendas (id TEXT PRIMARY KEY, meeting TEXT NOT NULL, date TEXT NOT NULL, page INTEGER NOT NULL, text TEXT NOT NULL, page_image TEXT, entities_json TEXT, votes_json TEXT);
             CREATE VIRTUAL TABLE minutes_fts USING fts5(text, content='minutes', content_rowid='rowid', tokenize='porter unicode61');
             CREATE VIRTUAL TABLE agendas_fts USING fts5(text, content='agendas', content_rowid='rowid', tokenize='porter unicode61');
             INSERT INTO minutes VALUES ('abcdefabcdef', 'Regional Council', '2026-04-01', 1, 'The lighthouse budget was adopted.', NULL, NULL, NULL);
             INSERT INTO minutes_fts (rowid, text) SELECT rowid, text FROM minutes;`);
    db.close();
    fs.renameSync(next, file);

    // an archive compiled before serve (the original eight columns only) is still searchable
    expect((await json(`/api/sites/${HALIFAX}/search?q=harbour`)).total).toBe(0);
    const lighthouse = await json(`/api/sites/${HALIFAX}/search?q=lighthouse`);
    expect(lighthouse.hits).toMatchObject([{ id: 'abcdefabcdef', meeting: 'Regional Council', snippetHtml: 'The <mark>lighthouse</mark> budget was adopted.' }]);
    expect(await json(`/api/sites/${HALIFAX}/pages/abcdefabcdef`)).toMatchObject({ text: 'The lighthouse budget was adopted.', sourcePageUrl: null, ocrConfidence: null });
    expect((await json(`/api/sites/${HALIFAX}`)).site).toMatchObject({ legacy: true, pages: 1, meetings: 1 });
    expect((await json(`/api/sites/${HALIFAX}/meetings/Regional%20Council/2026-04-01`)).documents).toHaveLength(1);
  });
});

describe('startServer and clerk serve', () => {
  it('reports a port already taken as a ListenError', async () => {
    const port = Number(new URL(server.url).port);
    await expect(startServer({ deployDir: deploy.deployDir, host: '127.0.0.1', port })).rejects.toThrow(ListenError);
    await expect(startServer({ deployDir: deploy.deployDir, host: '127.0.0.1', port })).rejects.toThrow(/port \d+ on 127.0.0.1 is taken/);
  });

  it('prints its URL, serves the deploy folder, and stops cleanly on SIGTERM', async () => {
    const cli = spawn(process.execPath, ['bin/clerk.mjs', 'serve', '--port', '0'], { env: { ...process.env, CLERK_DEPLOY_DIR: deploy.deployDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      cli.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (found) resolve(found[1]!);
      });
      cli.once('exit', (code) => reject(new Error(`clerk serve exited ${code}: ${output}`)));
    });
    const sites = (await (await fetch(`${url}/api/sites`)).json()) as { sites: { subdomain: string }[] };
    expect(sites.sites.map((s) => s.subdomain)).toEqual([ALAMEDA, HALIFAX]);
    const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
    cli.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits 2 on a bad flag and 1 when the port is taken', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const cli = spawn(process.execPath, ['bin/clerk.mjs', 'serve', ...args], { env: { ...process.env, CLERK_DEPLOY_DIR: deploy.deployDir }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        cli.once('exit', (code) => resolve({ code, stderr }));
      });
    expect((await run(['--port', 'eighty'])).code).toBe(2);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const taken = await run(['--port', String((blocker.address() as net.AddressInfo).port)]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/is taken/);
    } finally {
      blocker.close();
    }
  });
});
