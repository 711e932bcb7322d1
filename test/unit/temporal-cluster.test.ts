import { describe, expect, it } from 'vitest';
import { clusterConfig, clusterPorts, temporalPostgresFromUrl, type TemporalClusterOptions } from '../../src/dev/temporal-cluster.js';

const postgres = temporalPostgresFromUrl('postgres://clerk:p%40ss@10.200.0.1:5433/clerk', 'e2e_');

function options(overrides: Partial<TemporalClusterOptions> = {}): TemporalClusterOptions {
  return { rootDir: '/tmp/cluster', host: '127.0.0.1', port: 7233, postgres, namespace: 'default', ...overrides };
}

interface Rendered {
  persistence: { numHistoryShards: number; datastores: Record<string, { sql: { databaseName: string; connectAddr: string; user: string; password: string } }> };
  global: { membership: { broadcastAddress: string } };
  services: Record<string, { rpc: Record<string, unknown> }>;
  clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
  dynamicConfigClient: { filepath: string };
}

describe('the Temporal cluster config', () => {
  it('reads Postgres settings from a URL, with prefixed database names', () => {
    expect(postgres).toEqual({
      host: '10.200.0.1',
      port: 5433,
      user: 'clerk',
      password: 'p@ss',
      databases: { main: 'e2e_temporal', visibility: 'e2e_temporal_visibility' },
    });
  });

  it('gives every service its own ports next to the frontend, so clusters nine ports apart never collide', () => {
    const ports = Object.values(clusterPorts(7233)).flatMap((service) => Object.values(service));
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.min(...ports)).toBe(7233);
    expect(Math.max(...ports)).toBe(7233 + 8);
  });

  it('binds to loopback and names both databases on the given Postgres', () => {
    const config = clusterConfig(options(), '/tmp/cluster/config/dynamicconfig.yaml') as Rendered;
    expect(config.services.frontend!.rpc).toMatchObject({ grpcPort: 7233, bindOnLocalHost: true });
    expect(config.services.history!.rpc).not.toHaveProperty('bindOnIP');
    expect(config.global.membership.broadcastAddress).toBe('127.0.0.1');
    expect(config.persistence.numHistoryShards).toBe(4);
    expect(Object.values(config.persistence.datastores).map((store) => store.sql.databaseName)).toEqual(['e2e_temporal', 'e2e_temporal_visibility']);
    expect(config.persistence.datastores['postgres-default']!.sql).toMatchObject({ connectAddr: '10.200.0.1:5433', user: 'clerk', password: 'p@ss' });
    expect(config.dynamicConfigClient.filepath).toBe('/tmp/cluster/config/dynamicconfig.yaml');
  });

  it('binds every service to a bridge address and announces it, for hosts in other network namespaces', () => {
    const config = clusterConfig(options({ host: '10.200.0.1', port: 17233 }), 'dc.yaml') as Rendered;
    for (const service of Object.values(config.services)) {
      expect(service.rpc).toMatchObject({ bindOnIP: '10.200.0.1' });
      expect(service.rpc).not.toHaveProperty('bindOnLocalHost');
    }
    expect(config.global.membership.broadcastAddress).toBe('10.200.0.1');
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('10.200.0.1:17233');
  });

  it('refuses ports the server could not record: membership ports are a SMALLINT in its Postgres schema', () => {
    expect(() => clusterConfig(options({ port: 32_760 }), 'dc.yaml')).toThrow(/between 1 and 32759/);
    expect(() => clusterConfig(options({ port: 32_759 }), 'dc.yaml')).not.toThrow();
  });

  it('refuses to bind every interface without an address to announce', () => {
    expect(() => clusterConfig(options({ host: '0.0.0.0' }), 'dc.yaml')).toThrow(/broadcastAddress/);
    const config = clusterConfig(options({ host: '0.0.0.0', broadcastAddress: '10.0.0.5' }), 'dc.yaml') as Rendered;
    expect(config.global.membership.broadcastAddress).toBe('10.0.0.5');
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('10.0.0.5:7233');
  });
});
