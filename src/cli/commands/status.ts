import { Command } from 'commander';
import { parseSubdomain } from '../../sites/subdomain.js';
import { getSite } from '../../sites/repository.js';
import { config, printJson, withClient, withDb } from '../context.js';
import { progressLine, siteReport } from '../site-report.js';

export function statusCommand(): Command {
  return new Command('status')
    .description("show a site's run (stage, document and page counts, branches), or every site's progress")
    .argument('[subdomain]', 'one site; omit for all sites')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string | undefined, options: { json?: boolean }) => {
      if (subdomainArg === undefined) {
        const rows = await withDb((db) => db.selectFrom('site_progress').selectAll().orderBy('subdomain').execute());
        if (options.json) return printJson(rows);
        if (rows.length === 0) console.log('no site has run yet');
        for (const row of rows) console.log(progressLine(row));
        return;
      }
      const subdomain = parseSubdomain(subdomainArg);
      const report = await withDb(async (db) => {
        await getSite(db, subdomain);
        return withClient((client) => siteReport(client, db, config(), subdomain));
      });
      if (options.json) return printJson(report);
      console.log(`${report.subdomain}: ${report.stage} (workflow ${report.workflowStatus ?? 'never started'})`);
      console.log(`  documents: ${report.documents.done} done, ${report.documents.failed} failed of ${report.documents.total}`);
      console.log(`  pages:     ${report.pages.done} done, ${report.pages.failed} failed of ${report.pages.total}`);
      const low = report.lowConfidence;
      if (low.count > 0) {
        const where = low.examples.map((e) => `${e.documentId} p.${e.page} (${e.confidence})`).join(', ');
        console.log(`  OCR:       ${low.count} page(s) under ${low.threshold}% mean confidence, lowest: ${where}`);
      }
      if (report.query) {
        console.log(`  branches:  fast ${report.query.branches.fast}, full ${report.query.branches.full}; deployed: ${report.query.deployed ?? 'not yet'}`);
        console.log(`  started ${report.query.startedAt}, updated ${report.query.updatedAt}`);
        if (report.query.error) console.log(`  error: ${report.query.error}`);
      } else {
        console.log('  (no worker answered the status query; counts are from Postgres)');
      }
      console.log(`  Web UI: ${report.webUi}`);
    });
}
