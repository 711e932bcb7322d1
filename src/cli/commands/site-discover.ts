import { Command } from 'commander';
import { FetchError } from '../../fetchers/index.js';
import { parseMeetingDate } from '../../fetchers/meeting.js';
import { openSite } from '../../fetchers/site-settings.js';
import { getSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { CliError, ExitCode, fetchers, printJson, withDb } from '../context.js';

export function siteDiscoverCommand(): Command {
  return new Command('discover')
    .description("list what the site's platform offers, downloading no document and writing nothing")
    .argument('<subdomain>', 'the site')
    .option('--from <YYYY-MM-DD>', 'only meetings on or after this date')
    .option('--to <YYYY-MM-DD>', 'only meetings on or before this date')
    .option('--json', 'print one JSON array of { kind, meeting, date, url } on stdout, and the rejected listings as JSON on stderr')
    .action(async (subdomainArg: string, options: { from?: string; to?: string; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const since = options.from === undefined ? undefined : dateFlag('--from', options.from);
      const until = options.to === undefined ? undefined : dateFlag('--to', options.to);
      const site = await withDb((db) => getSite(db, subdomain));
      const { fetcher, source, context } = openSite(site, await fetchers());
      const started = performance.now();
      let discovery;
      try {
        discovery = await fetcher.discover(source, { since, until }, context);
      } catch (error) {
        if (error instanceof FetchError) throw new CliError(`${subdomain}: ${site.fetcher} listing failed (${error.reason}): ${error.message}`, ExitCode.failed);
        throw error;
      }
      const seconds = (performance.now() - started) / 1000;
      const documents = discovery.documents.map((d) => ({ kind: d.kind, meeting: d.meeting, date: d.date, url: d.url, ...(d.part ? { part: d.part } : {}) }));
      if (options.json) {
        printJson(documents);
        process.stderr.write(`${JSON.stringify({ rejected: discovery.rejected })}\n`);
        return;
      }
      const meetings = new Set(documents.map((d) => `${d.meeting}|${d.date}`)).size;
      for (const d of documents) console.log(`${d.date}  ${d.kind.padEnd(7)}  ${d.meeting}  ${d.url}`);
      for (const r of discovery.rejected) console.log(`rejected  ${r.url}: ${r.reason}`);
      console.log(`${documents.length} documents of ${meetings} meetings, ${discovery.rejected.length} listings rejected, in ${seconds.toFixed(2)} s (nothing downloaded)`);
    });
}

function dateFlag(flag: string, value: string): string {
  try {
    return parseMeetingDate(value);
  } catch (error) {
    throw new CliError(`${flag}: ${(error as Error).message}`, ExitCode.usage);
  }
}
