import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterDynamicConfig, DEV_SERVER_DYNAMIC_CONFIG, devServerDynamicConfigArgs, SERVER_DYNAMIC_CONFIG, serverGoEnvironment } from '../../src/dev/server-tuning.js';

const root = path.resolve(import.meta.dirname, '../..');
const composeDynamicConfig = fs.readFileSync(path.join(root, 'deploy/temporal/dynamicconfig.yaml'), 'utf8');
const composeFile = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

describe('the settings every Temporal server clerk runs gets', () => {
  it('passes each dynamic setting to the dev server as a JSON value', () => {
    expect(devServerDynamicConfigArgs()).toEqual(
      expect.arrayContaining(['--dynamic-config-value', 'matching.useNewMatcher=true', 'history.transferProcessorUpdateAckInterval="1s"']),
    );
    expect(devServerDynamicConfigArgs()).toHaveLength(2 * (Object.keys(SERVER_DYNAMIC_CONFIG).length + Object.keys(DEV_SERVER_DYNAMIC_CONFIG).length));
  });

  it("turns off the dev server's reading of search attribute definitions on every use, and only there: a real server caches them already", () => {
    expect(devServerDynamicConfigArgs().join(' ')).toContain('--dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false');
    expect(Object.keys(clusterDynamicConfig())).not.toContain('system.forceSearchAttributesCacheRefreshOnRead');
    expect(composeDynamicConfig).not.toContain('forceSearchAttributesCacheRefreshOnRead');
  });

  it("writes them unconstrained into the cluster's dynamic config", () => {
    expect(clusterDynamicConfig()['history.visibilityProcessorUpdateAckInterval']).toEqual([{ value: '1s' }]);
    expect(Object.keys(clusterDynamicConfig())).toEqual(Object.keys(SERVER_DYNAMIC_CONFIG));
  });

  it('holds the compose stack to the same dynamic settings', () => {
    for (const [key, value] of Object.entries(SERVER_DYNAMIC_CONFIG)) {
      // Each key's first value line, as deploy/temporal/dynamicconfig.yaml writes it.
      const entry = new RegExp(`^${key.replaceAll('.', '\\.')}:\\n\\s+- value: (.+)$`, 'm').exec(composeDynamicConfig);
      expect(entry, `${key} in deploy/temporal/dynamicconfig.yaml`).not.toBeNull();
      expect(JSON.parse(entry![1]!), key).toEqual(value);
    }
  });

  it("gives the compose stack's server the same garbage collector setting", () => {
    const temporalService = composeFile.slice(composeFile.indexOf('\n  temporal:\n'));
    expect(/GOGC: "(\d+)"/.exec(temporalService)?.[1]).toBe(serverGoEnvironment({}).GOGC);
  });

  it("leaves an operator's own GOGC alone", () => {
    expect(serverGoEnvironment({}).GOGC).toBe('400');
    expect(serverGoEnvironment({ GOGC: '150' }).GOGC).toBe('150');
  });
});
