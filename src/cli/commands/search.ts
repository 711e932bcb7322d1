import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { searchArchive } from '../../archive/compile.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { CliError, config, ExitCode, printJson } from '../context.js';

export function searchCommand(): Command {
  return new Command('search')
    .description("full-text search a site's deployed archive")
    .argument('<subdomain>', 'the site')
    .argument('<words...>', 'words to find')
    .option('--limit <n>', 'most hits to show', (v) => Number.parseInt(v, 10), 20)
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, words: string[], options: { limit: number; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      await syncFromSharedStore(subdomain);
      const archive = path.join(config().deployDir, subdomain, 'meetings.db');
      if (!fs.existsSync(archive)) throw new CliError(`${subdomain} has no deployed archive yet (${archive}); run clerk enqueue ${subdomain} --wait`, ExitCode.failed);
      const hits = searchArchive(archive, words.join(' '), options.limit);
      if (options.json) return printJson(hits);
      if (hits.length === 0) console.log('no matches');
      for (const hit of hits) console.log(`${hit.table} ${hit.meeting} ${hit.date} p${hit.page}: ${hit.snippet.replace(/\s+/g, ' ')}`);
    });
}

/**
 * With a remote store, the site's current version may have been deployed on another host: fetch it
 * into the local deploy folder first (nothing to do when it is already there). When the store cannot
 * be read, a copy already on disk is still searched, with a warning.
 */
async function syncFromSharedStore(subdomain: string): Promise<void> {
  const { openDocumentStore } = await import('../../storage/open.js');
  const store = openDocumentStore(config());
  if (!store.remote) return;
  const { syncDeployedArchives } = await import('../../deploy/store-mirror.js');
  const [outcome] = await syncDeployedArchives(store, config().deployDir, { sites: [subdomain], keep: config().deploy.keep });
  if (outcome?.status === 'failed') console.error(`clerk: could not sync ${subdomain} from the shared store, searching the copy on this host if there is one: ${outcome.error}`);
}
