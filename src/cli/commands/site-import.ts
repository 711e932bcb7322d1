import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { openSite, parseSettingFlags } from '../../fetchers/site-settings.js';
import { readSitesFile, SitesFileInvalidError } from '../../sites/import-file.js';
import { saveSite, saveSites, validateSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { CliError, ExitCode, fetchers, printJson, withDb } from '../context.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function siteImportDirCommand(): Command {
  return new Command('import-dir')
    .description('register a site whose PDFs are already in a folder (<Meeting>/<YYYY-MM-DD>.pdf, agendas under _agendas/); clerk enqueue then reads them')
    .argument('<subdomain>', 'the site key')
    .argument('<folder>', 'the folder holding the PDFs')
    .option('--name <name>', 'a display name (default: the subdomain)')
    .option('--setting <key=value>', 'a folder-fetcher setting, e.g. meeting="City Council", repeatable', collect)
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, folder: string, options: { name?: string; setting?: string[]; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const root = path.resolve(folder);
      if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new CliError(`${root} is not a folder`, ExitCode.usage);
      const registry = await fetchers();
      const valid = validateSite(registry, {
        subdomain,
        name: options.name ?? subdomain,
        fetcher: 'folder',
        sourceUrl: pathToFileURL(root).href,
        settings: parseSettingFlags(options.setting ?? []),
      });
      const { fetcher, source, context } = openSite({ subdomain, fetcher: 'folder', source_url: valid.sourceUrl, settings: valid.settings, allowed_hosts: [] }, registry);
      const discovery = await fetcher.discover(source, {}, context);
      const saved = await withDb((db) => saveSite(db, valid, registry));
      if (options.json) return printJson({ site: saved, documents: discovery.documents.length, rejected: discovery.rejected });
      console.log(`site ${saved.subdomain} registered (folder: ${root}): ${discovery.documents.length} PDFs found`);
      for (const r of discovery.rejected) console.log(`  skipped ${r.url}: ${r.reason}`);
      console.log(`read them with: clerk enqueue ${saved.subdomain} --wait`);
    });
}

export function siteImportCommand(): Command {
  return new Command('import')
    .description('register many sites from a CSV (header: subdomain,name,fetcher,url,settings,allow_hosts) or JSON file: all of them, or none if any row is invalid')
    .argument('<file>', 'sites.csv or sites.json')
    .option('--dry-run', 'validate every row, write nothing')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { dryRun?: boolean; json?: boolean }) => {
      let content: string;
      try {
        content = fs.readFileSync(file, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read ${file}: ${(error as Error).message}`, ExitCode.usage);
      }
      const format = file.toLowerCase().endsWith('.json') ? 'json' : 'csv';
      let sites;
      try {
        sites = readSitesFile(content, format, await fetchers());
      } catch (error) {
        if (error instanceof SitesFileInvalidError) {
          if (options.json) printJson({ imported: 0, errors: error.errors });
          throw new CliError(error.message, ExitCode.usage);
        }
        throw error;
      }
      if (options.dryRun) {
        if (options.json) return printJson({ imported: 0, valid: sites.length, dryRun: true });
        return console.log(`${sites.length} sites are valid (dry run: nothing written)`);
      }
      const saved = await withDb((db) => saveSites(db, sites));
      if (options.json) return printJson({ imported: saved.length, sites: saved.map((s) => s.subdomain) });
      console.log(`imported ${saved.length} sites`);
    });
}
