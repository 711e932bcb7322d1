import { extractPage } from './src/extract/index.js';
import { SAMPLE } from './tmp-sample.mjs';
for (const page of SAMPLE) { const r = extractPage(page); console.log(JSON.stringify(r.entities)); for (const v of r.votes) console.log(JSON.stringify(v)); console.log('---'); }
