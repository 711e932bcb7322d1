/** `clerk serve`: the read-only web app and JSON API over a deploy folder's archives. */
export { createServeApp, type ServeApp, type ServeOptions } from './app.js';
export { startServer, ListenError, type RunningServer, type ServerOptions } from './server.js';
export { DeployedArchives } from './archives.js';
export { LOW_CONFIDENCE } from './queries.js';
