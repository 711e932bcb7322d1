import { Command } from 'commander';
import { listSites, saveSite } from '../../sites/repository.js';
import { printJson, withDb } from '../context.js';

export function siteCommand(): Command {
  const site = new Command('site').description('register and list sites');

  site
    .command('add')
    .description('register a site, or update its name and source')
    .argument('<subdomain>', 'the site key, like alameda.ca')
    .requiredOption('--url <url>', "the site's index page listing its agenda and minutes PDFs")
    .option('--name <name>', 'a display name (default: the subdomain)')
    .option('--fetcher <fetcher>', 'which fetcher reads the site', 'http-index')
    .option('--json', 'print the site as JSON')
    .action(async (subdomain: string, options: { url: string; name?: string; fetcher: string; json?: boolean }) => {
      const saved = await withDb((db) => saveSite(db, { subdomain, name: options.name ?? subdomain, fetcher: options.fetcher, sourceUrl: options.url }));
      if (options.json) printJson(saved);
      else console.log(`site ${saved.subdomain} registered (${saved.fetcher}: ${saved.source_url})`);
    });

  site
    .command('list')
    .description('list registered sites')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const sites = await withDb((db) => listSites(db));
      if (options.json) return printJson(sites);
      for (const s of sites) console.log(`${s.subdomain}\t${s.name}\t${s.source_url}`);
    });

  return site;
}
