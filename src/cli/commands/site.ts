import { Command } from 'commander';
import { parseSettingFlags } from '../../fetchers/site-settings.js';
import { getSite, listSites, removeSite, saveSite, siteFootprint } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { describeRun } from '../../temporal/site-runs.js';
import { siteWorkflowId } from '../../workflows/types.js';
import { CliError, confirm, ExitCode, fetchers, printJson, withClient, withDb } from '../context.js';
import { siteDiscoverCommand } from './site-discover.js';
import { siteImportCommand, siteImportDirCommand } from './site-import.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function siteCommand(): Command {
  const site = new Command('site').description('register, inspect and remove sites, and check what their platform lists');

  site
    .command('add')
    .description('register a site, or update one (settings given are merged; `--setting key=` removes a key)')
    .argument('<subdomain>', 'the site key, like alameda.ca')
    .option('--fetcher <fetcher>', 'the platform: legistar, civicplus, granicus, primegov, civicclerk, http-index, folder (or a plugin)')
    .option('--url <url>', "the platform's base for this site (Legistar: https://webapi.legistar.com/v1/<client>; CivicPlus: the site root)")
    .option('--name <name>', 'a display name (default: the subdomain)')
    .option('--setting <key=value>', 'a fetcher setting, repeatable (see `clerk site fetchers`)', collect)
    .option('--allow-host <host[:port]>', "a host the site's documents may come from besides the URL's, repeatable (*.domain allowed)", collect)
    .option('--json', 'print the site as JSON')
    .action(async (subdomainArg: string, options: { fetcher?: string; url?: string; name?: string; setting?: string[]; allowHost?: string[]; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const registry = await fetchers();
      const saved = await withDb(async (db) => {
        const existing = await getSite(db, subdomain).catch(() => undefined);
        const url = options.url ?? existing?.source_url;
        if (!url) throw new CliError(`${subdomain} is new: give its --url (and --fetcher)`, ExitCode.usage);
        const fetcherChanged = options.fetcher !== undefined && options.fetcher !== existing?.fetcher;
        const settings = { ...(fetcherChanged ? {} : existing?.settings), ...parseSettingFlags(options.setting ?? []) };
        for (const [key, value] of Object.entries(settings)) if (value === '') delete settings[key];
        return saveSite(db, {
          subdomain,
          name: options.name ?? existing?.name ?? subdomain,
          fetcher: options.fetcher ?? existing?.fetcher ?? 'http-index',
          sourceUrl: url,
          settings,
          allowedHosts: options.allowHost ?? existing?.allowed_hosts ?? [],
        }, registry);
      });
      if (options.json) return printJson(saved);
      console.log(`site ${saved.subdomain} registered (${saved.fetcher}: ${saved.source_url})`);
      console.log(`check what it lists with: clerk site discover ${saved.subdomain}`);
    });

  site
    .command('list')
    .description('list registered sites')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const sites = await withDb((db) => listSites(db));
      if (options.json) return printJson(sites);
      if (sites.length === 0) console.log('no site is registered; add one with clerk site add');
      for (const s of sites) console.log(`${s.subdomain}\t${s.fetcher}\t${s.source_url}\tlast fetched ${s.last_fetched_at?.toISOString() ?? 'never'}`);
    });

  site
    .command('show')
    .description("a site's settings, its documents by status, and what its last fetches rejected or failed to download")
    .argument('<subdomain>', 'the site')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, options: { json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const shown = await withDb(async (db) => {
        const row = await getSite(db, subdomain);
        const documents = await db
          .selectFrom('documents')
          .select(['status', (eb) => eb.fn.countAll<string>().as('count')])
          .where('subdomain', '=', subdomain)
          .groupBy('status')
          .execute();
        const failedDocuments = await db
          .selectFrom('documents')
          .select(['kind', 'meeting', 'meeting_date as date', 'source_url as url', 'failure_reason as reason', 'error'])
          .where('subdomain', '=', subdomain)
          .where('status', '=', 'failed')
          .orderBy('meeting_date', 'desc')
          .limit(20)
          .execute();
        const rejectedListings = await db
          .selectFrom('listing_rejections')
          .select(['url', 'reason', 'last_seen_at'])
          .where('subdomain', '=', subdomain)
          .orderBy('last_seen_at', 'desc')
          .limit(20)
          .execute();
        return {
          site: row,
          documents: Object.fromEntries(documents.map((d) => [d.status, Number(d.count)])),
          failedDocuments,
          rejectedListings,
        };
      });
      if (options.json) return printJson(shown);
      const { site: s } = shown;
      console.log(`${s.subdomain} (${s.name})`);
      console.log(`  fetcher:       ${s.fetcher} ${s.source_url}`);
      console.log(`  settings:      ${Object.entries(s.settings).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}`);
      console.log(`  allowed hosts: ${s.allowed_hosts.join(' ') || '(the URL host only)'}`);
      console.log(`  last fetched:  ${s.last_fetched_at?.toISOString() ?? 'never'}`);
      console.log(`  documents:     ${Object.entries(shown.documents).map(([k, v]) => `${v} ${k}`).join(', ') || 'none yet'}`);
      for (const d of shown.failedDocuments) console.log(`  failed: ${d.kind} ${d.meeting} ${d.date} (${d.reason}): ${d.error ?? ''}`);
      for (const r of shown.rejectedListings) console.log(`  rejected listing: ${r.url}: ${r.reason}`);
    });

  site
    .command('remove')
    .description('delete a site and all its rows (documents, pages, progress, deployments); stored files stay')
    .argument('<subdomain>', 'the site')
    .option('--dry-run', 'print what would be deleted, delete nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, options: { dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      await withDb(async (db) => {
        const footprint = await siteFootprint(db, subdomain);
        const summary = `remove ${subdomain}: ${footprint.documents} documents, ${footprint.pages} pages, ${footprint.deployments} deployments`;
        if (options.dryRun) {
          if (options.json) printJson({ ...footprint, removed: false, dryRun: true });
          else console.log(`would ${summary} (dry run: nothing deleted)`);
          return;
        }
        const running = await withClient((client) => describeRun(client, siteWorkflowId(subdomain)));
        if (running?.status === 'RUNNING') throw new CliError(`${subdomain} has a run in progress (${running.runId}); let it finish or cancel it first`, ExitCode.usage);
        await confirm(`${summary[0]!.toUpperCase()}${summary.slice(1)}?`, options);
        await removeSite(db, subdomain);
        if (options.json) printJson({ ...footprint, removed: true, dryRun: false });
        else console.log(`removed ${subdomain}`);
      });
    });

  site
    .command('fetchers')
    .description('list the fetchers (built in and from plugins) and the settings each reads')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const registry = await fetchers();
      const list = registry.all().map((f) => ({ name: f.name, description: f.description, settings: f.settings ?? {} }));
      if (options.json) return printJson(list);
      for (const f of list) {
        console.log(`${f.name}: ${f.description}`);
        for (const [key, meaning] of Object.entries(f.settings)) console.log(`    --setting ${key}=...  ${meaning}`);
      }
    });

  site.addCommand(siteDiscoverCommand());
  site.addCommand(siteImportDirCommand());
  site.addCommand(siteImportCommand());
  return site;
}
