import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface Publication {
  path: string;
  sha256: string;
  byteSize: number;
}

/**
 * Publishes a compiled archive as `<deployDir>/<subdomain>/meetings.db`. The copy is flushed and
 * then renamed over the old file, so a server reading the folder sees the old archive or the new.
 */
export async function publishArchive(sourcePath: string, deployDir: string, subdomain: string): Promise<Publication> {
  const targetDir = path.join(deployDir, subdomain);
  const target = path.join(targetDir, 'meetings.db');
  const staging = path.join(targetDir, `.meetings.db.${randomUUID()}.staging`);
  await fs.mkdir(targetDir, { recursive: true });
  const data = await fs.readFile(sourcePath);
  const handle = await fs.open(staging, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(staging, target);
  return { path: target, sha256: createHash('sha256').update(data).digest('hex'), byteSize: data.byteLength };
}
