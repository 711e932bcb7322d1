import { Command, Option } from 'commander';
import { failureStages, listFailures, type FailureGroup, type FailureStage, type FailureTotals } from '../../progress/failures.js';
import { getSite } from '../../sites/repository.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { failureUiUrls } from '../../temporal/connection.js';
import { CliError, config, ExitCode, printJson, withDb } from '../context.js';

export function failuresCommand(): Command {
  return new Command('failures')
    .description('what failed, grouped by reason: pages, documents, downloads, rejected listing entries and runs (a dead-letter view)')
    .option('--site <subdomain>', 'one site only')
    .addOption(new Option('--stage <stage>', 'one stage only').choices([...failureStages]))
    .option('--since <YYYY-MM-DD>', 'only failures recorded on or after this day (UTC)')
    .option('--limit <n>', 'examples shown per group', '3')
    .option('--json', 'print JSON')
    .action(async (options: { site?: string; stage?: FailureStage; since?: string; limit: string; json?: boolean }) => {
      const subdomain = options.site === undefined ? undefined : parseSubdomain(options.site);
      const since = options.since === undefined ? undefined : parseDay(options.since);
      const examples = Number(options.limit);
      if (!Number.isInteger(examples) || examples < 0) throw new CliError(`--limit must be a whole number of 0 or more, not "${options.limit}"`, ExitCode.usage);
      const report = await withDb(async (db) => {
        if (subdomain !== undefined) await getSite(db, subdomain);
        return listFailures(db, { subdomain, stage: options.stage, since, examples });
      });
      // Runs get a Web UI link to their workflow, failed pages and documents one to the document's child
      // workflow; the others have null, so every example has both keys.
      const groups = report.groups.map((group) => ({
        ...group,
        examples: group.examples.map((example) => ({ ...example, ...failureUiUrls(config(), group.kind, example) })),
      }));
      if (options.json) return printJson({ groups, totals: report.totals });
      printHuman(groups, report.totals);
    });
}

/** A calendar day, read as the start of that day in UTC. */
function parseDay(value: string): Date {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = day ? new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))) : undefined;
  if (!date || date.toISOString().slice(0, 10) !== value) throw new CliError(`--since must be a date like 2026-01-31, not "${value}"`, ExitCode.usage);
  return date;
}

function printHuman(groups: (FailureGroup & { examples: (FailureGroup['examples'][number] & { webUi: string | null; documentWebUi: string | null })[] })[], totals: FailureTotals): void {
  if (groups.length === 0) {
    console.log('no failures');
    return;
  }
  for (const group of groups) {
    console.log(`${group.stage} ${group.kind} ${group.reason}: ${group.count}`);
    for (const example of group.examples) {
      // A document id already starts with its site.
      const where = [example.documentId ?? example.site, example.page === null ? null : `p.${example.page}`].filter((part) => part !== null).join(' ');
      const attempts = example.attempts === null ? '' : ` (${example.attempts} attempt${example.attempts === 1 ? '' : 's'})`;
      console.log(`  ${where}${attempts}: ${example.error || '(no message)'}`);
      // A listing entry or a download has no document to open: its URL is what to look at.
      if (example.url && (group.kind === 'listing' || group.kind === 'download')) console.log(`    ${example.url}`);
      if (example.webUi) console.log(`    Web UI: ${example.webUi}`);
      if (example.documentWebUi) console.log(`    Web UI: ${example.documentWebUi}`);
    }
    if (group.count > group.examples.length) console.log(`  ... and ${group.count - group.examples.length} more`);
  }
  console.log(`total: ${Object.entries(totals).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
}
