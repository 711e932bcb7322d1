import { Command } from 'commander';
import { stackUp } from '../../dev/stack-control.js';
import { saveSite } from '../../sites/repository.js';
import { config, withDb } from '../context.js';
import { enqueueCommand } from './enqueue.js';

export const DEMO_SITE = 'alameda.ca';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the sample site end to end on the embedded default, then leave the stack up to inspect')
    .action(async () => {
      const started = Date.now();
      const info = await stackUp(config(), (line) => console.log(line));
      await withDb((db) => saveSite(db, { subdomain: DEMO_SITE, name: 'Alameda (sample site)', fetcher: 'http-index', sourceUrl: info.sampleSiteUrl }));
      console.log(`site ${DEMO_SITE} registered: ${info.sampleSiteUrl}`);
      await enqueueCommand().parseAsync([DEMO_SITE, '--wait'], { from: 'user' });
      console.log('');
      console.log(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s. The stack stays up so you can look around:`);
      console.log(`  clerk status ${DEMO_SITE}            (npm run clerk -- status ${DEMO_SITE})`);
      console.log(`  clerk search ${DEMO_SITE} QUETZAL    (a word only OCR could read, from the scanned minutes)`);
      console.log(`  clerk serve                         (the archive in a browser: http://127.0.0.1:8080/sites/${DEMO_SITE})`);
      console.log(`  clerk deploy list ${DEMO_SITE}       (the fast path's early version, and the full one that replaced it)`);
      console.log(`  Temporal Web UI: ${info.webUi}`);
      console.log('  stop it with: npm run clerk -- dev down');
    });
}
