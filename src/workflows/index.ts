export { siteWorkflow, statusQuery } from './site.js';
export { documentWorkflow, pageBatchWorkflow } from './document.js';
export { fleetRefreshWorkflow } from './fleet.js';
