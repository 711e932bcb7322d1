import { Hono, type Context } from 'hono';
import { DeployedArchives, type OpenArchive } from './archives.js';
import { lowConfidenceView, meetingView, pageView, personView, searchArchives, searchSite, siteOverview, sitesOf, siteSummary } from './data.js';
import { searchFeed, siteFeed } from './feeds.js';
import { QuerySyntaxError } from './queries.js';
import { HttpProblem, notFound, readPageNumber, readSearchRequest } from './requests.js';
import { errorPage, lowConfidencePage, meetingPage, pagePage, personPage, searchPage, sitePage, sitesPage } from './views.js';

export interface ServeOptions {
  /** The deploy folder: one subfolder per site with its meetings.db (config().deployDir). */
  deployDir: string;
}

export type ServeApp = Hono & {
  /** Closes the archive connections; requests still running finish first. */
  close(): void;
};

/**
 * The read-only web app over a deploy folder: HTML pages for people, the same data as JSON under
 * /api for scripts, and Atom feeds. It reads nothing but the deploy folder (no Postgres, no
 * Temporal), and notices a new deploy or a rollback on the next request.
 */
export function createServeApp(options: ServeOptions): ServeApp {
  const archives = new DeployedArchives(options.deployDir);
  const app = new Hono();

  /** Runs `work` on a deployed site's archive; any other name, malformed or unknown, is a 404. */
  async function onSite<T>(c: Context, work: (archive: OpenArchive) => T): Promise<T> {
    const site = c.req.param('site') ?? '';
    const result = await archives.use(site, work);
    if (!result) throw notFound(`no site named "${site}" is deployed here`);
    return result.value;
  }

  app.use(async (c, next) => {
    await next();
    // No script runs on these pages: say so, so injected markup could not run any either.
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });

  // ---- HTML
  app.get('/', async (c) => c.html(sitesPage(await sitesOf(archives))));

  app.get('/search', async (c) => {
    const request = readSearchRequest(c.req.query(), { required: false });
    const results = await archives.useAll((all) => searchArchives(all, request));
    return c.html(searchPage({ results, path: '/search' }));
  });

  app.get('/sites/:site', async (c) => c.html(sitePage(await onSite(c, siteOverview))));

  app.get('/sites/:site/search', async (c) => {
    const request = readSearchRequest(c.req.query(), { required: false });
    const view = await onSite(c, (archive) => ({ site: siteSummary(archive), bodies: archive.queries.bodies().map((b) => b.meeting), results: searchSite(archive, request) }));
    return c.html(searchPage({ ...view, path: `${view.site.url}/search` }));
  });

  app.get('/sites/:site/meetings/:meeting/:date', async (c) =>
    c.html(meetingPage(await onSite(c, (archive) => meetingView(archive, c.req.param('meeting'), c.req.param('date'))))),
  );

  app.get('/sites/:site/pages/:id', async (c) => c.html(pagePage(await onSite(c, (archive) => pageView(archive, c.req.param('id'))))));

  app.get('/sites/:site/people/:name', async (c) => {
    const page = readPageNumber(c.req.query('page'));
    return c.html(personPage(await onSite(c, (archive) => personView(archive, c.req.param('name'), page))));
  });

  app.get('/sites/:site/low-confidence', async (c) => {
    const page = readPageNumber(c.req.query('page'));
    return c.html(lowConfidencePage(await onSite(c, (archive) => lowConfidenceView(archive, page))));
  });

  // ---- Atom
  app.get('/sites/:site/feed.atom', async (c) => atom(c, await onSite(c, (archive) => siteFeed(archive, originOf(c)))));

  app.get('/sites/:site/search.atom', async (c) => {
    const { filters } = readSearchRequest(c.req.query(), { required: true });
    return atom(c, await onSite(c, (archive) => searchFeed(archive, filters, originOf(c))));
  });

  // ---- JSON: the same data the pages show
  app.get('/api/sites', async (c) => c.json({ sites: await sitesOf(archives) }));

  app.get('/api/search', async (c) => {
    const request = readSearchRequest(c.req.query(), { required: true });
    return c.json(await archives.useAll((all) => searchArchives(all, request)));
  });

  app.get('/api/sites/:site', async (c) => c.json(await onSite(c, siteOverview)));

  app.get('/api/sites/:site/search', async (c) => {
    const request = readSearchRequest(c.req.query(), { required: true });
    return c.json(await onSite(c, (archive) => searchSite(archive, request)));
  });

  app.get('/api/sites/:site/pages/:id', async (c) => c.json(await onSite(c, (archive) => pageView(archive, c.req.param('id')))));

  app.get('/api/sites/:site/meetings/:meeting/:date', async (c) =>
    c.json(await onSite(c, (archive) => meetingView(archive, c.req.param('meeting'), c.req.param('date')))),
  );

  app.get('/api/sites/:site/people/:name', async (c) => {
    const page = readPageNumber(c.req.query('page'));
    return c.json(await onSite(c, (archive) => personView(archive, c.req.param('name'), page)));
  });

  app.get('/api/sites/:site/low-confidence', async (c) => {
    const page = readPageNumber(c.req.query('page'));
    return c.json(await onSite(c, (archive) => lowConfidenceView(archive, page)));
  });

  // ---- Errors: a bad request or an unknown thing is the user's to fix and says so; anything else is ours.
  app.notFound((c) => problem(c, new HttpProblem(404, `nothing at ${new URL(c.req.url).pathname}`)));

  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problem(c, error);
    if (error instanceof QuerySyntaxError) return problem(c, new HttpProblem(400, `the query could not be read: ${error.message}`));
    console.error(`clerk serve: ${c.req.method} ${new URL(c.req.url).pathname}:`, error);
    return isApi(c) ? c.json({ error: 'internal error' }, 500) : c.html(errorPage(500, 'Something went wrong on the server; it is logged.'), 500);
  });

  return Object.assign(app, { close: () => archives.close() });
}

function problem(c: Context, error: HttpProblem): Response | Promise<Response> {
  if (isApi(c)) return c.json({ error: error.message }, error.status);
  const path = new URL(c.req.url).pathname;
  const search = { query: c.req.query(), action: path.endsWith('/search') ? path : null };
  return c.html(errorPage(error.status, error.message, search), error.status);
}

function isApi(c: Context): boolean {
  return new URL(c.req.url).pathname.startsWith('/api/');
}

function atom(c: Context, xml: string): Response {
  return c.body(xml, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
}

function originOf(c: Context): string {
  return new URL(c.req.url).origin;
}
