import type { ClerkConfig } from '../config/index.js';
import type { Db } from '../db/connect.js';
import type { DocumentStore } from '../storage/document-store.js';

/** What activities are built from: passed in, never imported as globals, so tests build their own. */
export interface ActivityDeps {
  db: Db;
  store: DocumentStore;
  config: ClerkConfig;
}
