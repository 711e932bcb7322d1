import type { DocumentKind } from '../../db/schema.js';
import { makeTextPdf } from '../pdf-builder.js';
import { withFixedMetadata } from '../sample-site.js';

const cache = new Map<string, Promise<Uint8Array>>();

/**
 * A small, reproducible agenda or minutes PDF with a real text layer for a fixture meeting.
 * The same arguments give the same bytes; a different `revision` gives a changed document.
 */
export function fixturePdf(kind: DocumentKind, meeting: string, date: string, revision = 1): Promise<Uint8Array> {
  const key = `${kind}|${meeting}|${date}|${revision}`;
  let pdf = cache.get(key);
  if (!pdf) {
    const title = `${meeting} ${kind === 'minutes' ? 'Minutes' : 'Agenda'} ${date}`;
    const lines =
      kind === 'minutes'
        ? [
            `${meeting.toUpperCase()} - MINUTES`,
            `Regular meeting of ${date}`,
            'Present: Mayor Maria Ortiz, Council Member Daniel Okafor, Council Member Priya Raman.',
            'Motion by Council Member Okafor, seconded by Council Member Raman, to approve the consent calendar.',
            'Ayes: Ortiz, Okafor, Raman. Noes: none. Motion carried 3-0.',
            revision > 1 ? `Corrected minutes, revision ${revision}.` : 'The meeting adjourned at 8:42 p.m.',
          ]
        : [`${meeting.toUpperCase()} - AGENDA`, `Meeting of ${date}`, '1. Call to order', '2. Public comment', '3. Consent calendar', '4. Adjournment'];
    pdf = makeTextPdf([lines], title).then((bytes) => withFixedMetadata(bytes, title));
    cache.set(key, pdf);
  }
  return pdf;
}
