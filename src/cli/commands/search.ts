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
    .action((subdomainArg: string, words: string[], options: { limit: number; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const archive = path.join(config().deployDir, subdomain, 'meetings.db');
      if (!fs.existsSync(archive)) throw new CliError(`${subdomain} has no deployed archive yet (${archive}); run clerk enqueue ${subdomain} --wait`, ExitCode.failed);
      const hits = searchArchive(archive, words.join(' '), options.limit);
      if (options.json) return printJson(hits);
      if (hits.length === 0) console.log('no matches');
      for (const hit of hits) console.log(`${hit.table} ${hit.meeting} ${hit.date} p${hit.page}: ${hit.snippet.replace(/\s+/g, ' ')}`);
    });
}
