import { describe, expect, it } from 'vitest';
import { serviceDefaults, servicesConfig } from './init-services';

describe('init with several services', () => {
  it('gives known names their usual ports and others distinct free ones', () => {
    expect(serviceDefaults(['ssh', 'db', 'metrics', 'other'])).toEqual([
      { name: 'ssh', listen: '127.0.0.1:2222', target: 'devbox.example:22', protocol: 'ssh' },
      { name: 'db', listen: '127.0.0.1:15432', target: 'db.example:5432', protocol: 'tcp' },
      { name: 'metrics', listen: '127.0.0.1:2223', target: 'metrics.example:22', protocol: 'tcp' },
      { name: 'other', listen: '127.0.0.1:2224', target: 'other.example:22', protocol: 'tcp' },
    ]);
    // Two names with the same usual port still get two ports.
    const [db, postgres] = serviceDefaults(['db', 'postgres']);
    expect(db?.listen).not.toBe(postgres?.listen);
  });

  it('writes each service with its own copy of the paths', () => {
    const paths = [{ id: 'ts', provider: 'tailscale', priority: 1, options: {} }];
    const config = servicesConfig(serviceDefaults(['ssh', 'db']), paths);
    expect(Object.keys(config.services)).toEqual(['ssh', 'db']);
    expect(config.services.ssh?.paths).toEqual(paths);
    expect(config.services.ssh?.paths).not.toBe(config.services.db?.paths);
  });
});
